import { Node, NodeRole } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { roleChangeFor } from "./role-change.js";

const node = (role: NodeRole, desiredRole: NodeRole) =>
  Node.fromPartial({ id: "n", role, spec: { desiredRole } });

describe("roleChangeFor", () => {
  it("promotes a worker once the store says manager, not on the desired role alone", () => {
    expect(roleChangeFor("worker", node(NodeRole.WORKER, NodeRole.MANAGER))).toBeUndefined();
    expect(roleChangeFor("worker", node(NodeRole.MANAGER, NodeRole.MANAGER))).toBe("promote");
  });

  it("demotes a manager once it has left Raft (role worker), not while it is still a member", () => {
    expect(roleChangeFor("manager", node(NodeRole.MANAGER, NodeRole.WORKER))).toBeUndefined();
    expect(roleChangeFor("manager", node(NodeRole.WORKER, NodeRole.WORKER))).toBe("demote");
    // A promotion in flight back to manager: nothing to undo.
    expect(roleChangeFor("manager", node(NodeRole.WORKER, NodeRole.MANAGER))).toBeUndefined();
  });

  it("does nothing when the roles agree or no node came", () => {
    expect(roleChangeFor("manager", node(NodeRole.MANAGER, NodeRole.MANAGER))).toBeUndefined();
    expect(roleChangeFor("worker", node(NodeRole.WORKER, NodeRole.WORKER))).toBeUndefined();
    expect(roleChangeFor("worker", undefined)).toBeUndefined();
  });
});
