// What a node's role change asks of its daemon (pure): the store's role, not the desired one,
// because the leader moves it only when the change is safe — a promoted worker gets role manager
// at once (then a manager certificate, then Raft/Join), a demoted manager gets role worker only
// after it has left the Raft configuration.
import { type Node, NodeRole } from "@shoal/proto";
import type { NodeRoleName } from "./node-state.js";

export type RoleChange = "promote" | "demote";

export function roleChangeFor(running: NodeRoleName, node: Node | undefined): RoleChange | undefined {
  if (node === undefined) return undefined;
  if (running === "worker" && node.role === NodeRole.MANAGER) return "promote";
  if (running === "manager" && node.role === NodeRole.WORKER && node.spec?.desiredRole === NodeRole.WORKER) {
    return "demote";
  }
  return undefined;
}
