import { describe, expect, it } from "vitest";
import { macOf, type OverlayDesired, type OverlayNetworkSpec, validateOverlay } from "./overlay-spec.js";

const net = (over: Partial<OverlayNetworkSpec> = {}): OverlayNetworkSpec => ({
  id: "n1",
  name: "app_front",
  vni: 100,
  subnet: "10.0.1.0/24",
  gateway: "10.0.1.1",
  peers: [{ nodeAddr: "192.168.1.2", endpoints: [{ ip: "10.0.1.5" }] }],
  ...over,
});
const desired = (over: Partial<OverlayDesired> = {}): OverlayDesired => ({
  networks: [net()],
  endpoints: [],
  services: [],
  ...over,
});

describe("validateOverlay refuses what cannot be programmed, naming it", () => {
  it("accepts a consistent desired state", () => {
    expect(validateOverlay(desired()).get("n1")?.cidr).toBe("10.0.1.0/24");
  });
  it.each([
    [
      "overlapping subnets",
      desired({
        networks: [
          net(),
          net({ id: "n2", name: "b", vni: 101, subnet: "10.0.1.128/25", gateway: "10.0.1.129", peers: [] }),
        ],
      }),
      /network "b": subnet 10.0.1.128\/25 overlaps subnet 10.0.1.0\/24 of network "app_front"/,
    ],
    [
      "a name in use",
      desired({
        networks: [net(), net({ id: "n2", vni: 101, subnet: "10.0.2.0/24", gateway: "10.0.2.1", peers: [] })],
      }),
      /network name "app_front" is in use by network "n1"/,
    ],
    [
      "a VNI in use",
      desired({
        networks: [
          net(),
          net({ id: "n2", name: "b", subnet: "10.0.2.0/24", gateway: "10.0.2.1", peers: [] }),
        ],
      }),
      /VNI 100 is in use by network "app_front"/,
    ],
    [
      "a gateway outside the subnet",
      desired({ networks: [net({ gateway: "10.0.2.1" })] }),
      /gateway "10.0.2.1" is not a host address of subnet 10.0.1.0\/24/,
    ],
    [
      "an address given twice",
      desired({
        networks: [
          net({ peers: [{ nodeAddr: "192.168.1.2", endpoints: [{ ip: "10.0.1.5" }, { ip: "10.0.1.5" }] }] }),
        ],
      }),
      /address 10.0.1.5 is given twice/,
    ],
    [
      "an endpoint on an unknown network",
      desired({
        endpoints: [{ containerId: "c1", netns: "x", attachments: [{ networkId: "nope", ip: "10.0.1.9" }] }],
      }),
      /endpoint "c1" names network "nope"/,
    ],
    [
      "a plain container on a network that is not attachable",
      desired({
        endpoints: [
          {
            containerId: "c1",
            netns: "x",
            kind: "container",
            attachments: [{ networkId: "n1", ip: "10.0.1.9" }],
          },
        ],
      }),
      /container "c1" cannot join network "app_front": it is not attachable/,
    ],
    [
      "ingress ports without an ingress network",
      desired({
        services: [
          {
            id: "s",
            name: "web",
            vips: [],
            ingressPorts: [{ targetPort: 80, publishedPort: 8080 }],
            tasks: [],
          },
        ],
      }),
      /publishes ingress ports but no network is the ingress network/,
    ],
    [
      "an ingress peer without its node address",
      desired({ networks: [net({ ingress: true })] }),
      /ingress network "app_front": peer 192.168.1.2 has no nodeIp/,
    ],
  ])("%s", (_what, spec, message) => {
    expect(() => validateOverlay(spec)).toThrow(message);
  });
  it("lets a plain container join an attachable network", () => {
    const spec = desired({
      networks: [net({ attachable: true })],
      endpoints: [
        {
          containerId: "c1",
          netns: "x",
          kind: "container",
          attachments: [{ networkId: "n1", ip: "10.0.1.9" }],
        },
      ],
    });
    expect(() => validateOverlay(spec)).not.toThrow();
  });
});

describe("macOf", () => {
  it("is 02:42 and the address bytes, as Docker's", () => {
    expect(macOf("10.0.1.20")).toBe("02:42:0a:00:01:14");
  });
});
