import { NodeOverlay } from "@shoal/proto";
import { validateOverlay } from "@shoal/runtime";
import { describe, expect, it } from "vitest";
import { resolverFor, toOverlayDesired } from "./overlay-desired.js";

const payload = NodeOverlay.fromPartial({
  networks: [
    {
      id: "front",
      name: "app_front",
      vni: 4096,
      subnet: "10.0.1.0/24",
      gateway: "10.0.1.1",
      peers: [
        { nodeId: "a", nodeAddr: "10.231.0.2", endpointIps: ["10.0.1.10"] },
        { nodeId: "b", nodeAddr: "10.231.0.3", endpointIps: ["10.0.1.11"] },
      ],
    },
  ],
  services: [
    {
      id: "api",
      name: "api",
      stack: "app",
      vips: [
        { networkId: "front", addr: "10.0.1.3" },
        { networkId: "back", addr: "10.0.2.2" },
      ],
      ingressPorts: [{ protocol: "tcp", targetPort: 80, publishedPort: 8080 }],
      tasks: [
        {
          id: "a1",
          nodeAddr: "10.231.0.3",
          healthy: true,
          addresses: [
            { networkId: "front", addr: "10.0.1.11" },
            { networkId: "back", addr: "10.0.2.10" },
          ],
        },
      ],
    },
  ],
});

describe("the overlay payload as the runtime's desired state", () => {
  it("maps networks, endpoints (eth1.. after the bridge's eth0) and services, leaving out what is unknown", () => {
    const desired = toOverlayDesired(payload, [
      {
        taskId: "w1",
        netns: "shoal-c-w1",
        networks: [
          { networkId: "back", ip: "10.0.2.20" },
          { networkId: "front", ip: "10.0.1.10" },
        ],
      },
    ]);
    expect(desired.endpoints).toEqual([
      {
        containerId: "w1",
        netns: "shoal-c-w1",
        attachments: [{ networkId: "front", ip: "10.0.1.10", ifname: "eth2" }],
      },
    ]);
    expect(desired.networks[0]?.peers[1]).toEqual({
      nodeAddr: "10.231.0.3",
      endpoints: [{ ip: "10.0.1.11" }],
    });
    const api = desired.services[0];
    expect(api?.vips).toEqual([{ networkId: "front", ip: "10.0.1.3" }]);
    expect(api?.tasks[0]?.addresses).toEqual([{ networkId: "front", ip: "10.0.1.11" }]);
    // No ingress network in this payload: its ports cannot be programmed yet.
    expect(api?.ingressPorts).toEqual([]);
    expect(() => validateOverlay(desired)).not.toThrow();
  });

  it("no payload is an empty desired state, and the resolver is the first known network's gateway", () => {
    expect(toOverlayDesired(undefined, [])).toEqual({ networks: [], endpoints: [], services: [] });
    expect(resolverFor(payload, [{ networkId: "back" }, { networkId: "front" }])).toBe("10.0.1.1");
    expect(resolverFor(undefined, [{ networkId: "front" }])).toBeUndefined();
  });
});
