import { Node, NodeRole } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { natsNodesOf, natsRoutesOf, natsUrlsOf, shiftPort } from "./bus-plan.js";

const manager = (id: string, addr: string) =>
  Node.fromPartial({ id, role: NodeRole.MANAGER, managerStatus: { raftId: 1, addr } });
const worker = (id: string) => Node.fromPartial({ id, role: NodeRole.WORKER });

describe("bus plan", () => {
  it("puts a manager's nats-server on its cluster port + 1 (clients) and + 2 (routes)", () => {
    expect(shiftPort("0.0.0.0:4270", 1, "listen address")).toEqual({ host: "0.0.0.0", port: 4271 });
    expect(natsUrlsOf(["10.0.0.1:4270", "10.0.0.2:5000", "10.0.0.1:4270"])).toEqual([
      "tls://10.0.0.1:4271",
      "tls://10.0.0.2:5001",
    ]);
    const nodes = [manager("m2", "10.0.0.2:4270"), worker("w1"), manager("m1", "10.0.0.1:4270")];
    expect(natsRoutesOf(nodes)).toEqual([
      { host: "10.0.0.1", port: 4272 },
      { host: "10.0.0.2", port: 4272 },
    ]);
    expect(natsNodesOf(nodes)).toEqual([
      { nodeId: "m2", role: "manager" },
      { nodeId: "w1", role: "worker" },
      { nodeId: "m1", role: "manager" },
    ]);
  });

  it("names the address it cannot read", () => {
    expect(() => shiftPort("nowhere", 1, "manager address")).toThrow(
      'manager address "nowhere" is not host:port',
    );
  });
});
