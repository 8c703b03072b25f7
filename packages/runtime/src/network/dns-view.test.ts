import { describe, expect, it } from "vitest";
import { buildDnsView, resolveName } from "./dns-view.js";
import type { OverlayDesired } from "./overlay-spec.js";

const desired: OverlayDesired = {
  networks: [
    { id: "front", name: "app_front", vni: 1, subnet: "10.0.1.0/24", gateway: "10.0.1.1", peers: [] },
    { id: "back", name: "app_back", vni: 2, subnet: "10.0.2.0/24", gateway: "10.0.2.1", peers: [] },
  ],
  endpoints: [
    { containerId: "web", netns: "w", attachments: [{ networkId: "front", ip: "10.0.1.10" }] },
    {
      containerId: "api",
      netns: "a",
      attachments: [
        { networkId: "front", ip: "10.0.1.20" },
        { networkId: "back", ip: "10.0.2.20" },
      ],
    },
  ],
  services: [
    {
      id: "s1",
      name: "api",
      stack: "app",
      vips: [
        { networkId: "front", ip: "10.0.1.100" },
        { networkId: "back", ip: "10.0.2.100" },
      ],
      tasks: [
        {
          nodeAddr: "n1",
          addresses: [
            { networkId: "front", ip: "10.0.1.20" },
            { networkId: "back", ip: "10.0.2.20" },
          ],
        },
        { nodeAddr: "n2", healthy: false, addresses: [{ networkId: "front", ip: "10.0.1.21" }] },
      ],
    },
    {
      id: "s2",
      name: "db",
      stack: "app",
      endpointMode: "dnsrr",
      vips: [],
      tasks: [{ nodeAddr: "n2", addresses: [{ networkId: "back", ip: "10.0.2.30" }] }],
    },
  ],
};

describe("resolveName", () => {
  const view = buildDnsView(desired);
  it("answers the VIP of the network the question came from", () => {
    expect(resolveName(view, "10.0.1.10", "api")).toEqual(["10.0.1.100"]);
    expect(resolveName(view, "10.0.1.10", "APP_api.")).toEqual(["10.0.1.100"]);
    expect(resolveName(view, "10.0.2.20", "api")).toEqual(["10.0.2.100"]);
  });
  it("gives tasks.<service> every healthy task, and dnsrr the task addresses", () => {
    expect(resolveName(view, "10.0.1.10", "tasks.api")).toEqual(["10.0.1.20"]);
    expect(resolveName(view, "10.0.1.20", "db")).toEqual(["10.0.2.30"]);
  });
  it("leaves names of networks the client is not on, and unknown clients, to the node's resolvers", () => {
    expect(resolveName(view, "10.0.1.10", "db")).toBeUndefined();
    expect(resolveName(view, "10.9.9.9", "api")).toBeUndefined();
    expect(resolveName(view, "10.0.1.10", "example.com")).toBeUndefined();
  });
  it("listens on every network's gateway", () => {
    expect(view.listen).toEqual(["10.0.1.1", "10.0.2.1"]);
  });
});
