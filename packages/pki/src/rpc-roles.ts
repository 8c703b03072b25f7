import type { NodeRole } from "./node-role.js";

/** Who may call a method: node roles, or "anyone" (no certificate needed). */
export type RpcAccess = readonly NodeRole[] | "anyone";

/**
 * Method path ("/shoal.v1.Control/GetNode") or service wildcard ("/shoal.v1.Control/*") → access.
 * An exact path wins over its service's wildcard.
 */
export type RpcRoleTable = Readonly<Record<string, RpcAccess>>;

const NODES: readonly NodeRole[] = ["manager", "worker"];
const MANAGERS: readonly NodeRole[] = ["manager"];

/**
 * Shoal's table. Workers reach only what an agent needs: its dispatcher session, publishing its
 * tasks' logs, and renewing its certificate. A joining node has no certificate yet, so it may fetch
 * the root, ask for a certificate with its join token, and poll for it. Everything else — the
 * control API, Raft, log subscriptions — is for managers (the CLI talks to a manager with a
 * manager certificate, or through the local admin socket).
 */
export const SHOAL_RPC_ROLES: RpcRoleTable = {
  "/shoal.v1.NodeCA/GetRootCACertificate": "anyone",
  "/shoal.v1.NodeCA/IssueNodeCertificate": "anyone",
  "/shoal.v1.NodeCA/NodeCertificateStatus": "anyone",
  "/shoal.v1.NodeCA/RenewNodeCertificate": NODES,
  "/shoal.v1.Dispatcher/*": NODES,
  "/shoal.v1.LogBroker/*": NODES,
  "/shoal.v1.Logs/*": MANAGERS,
  "/shoal.v1.Control/*": MANAGERS,
  "/shoal.v1.Raft/*": MANAGERS,
  // A follower manager forwarding a store write to the leader.
  "/shoal.v1.StoreForwarding/*": MANAGERS,
};

/** The access entry for a method path, or undefined when the table does not list it. */
export function accessFor(table: RpcRoleTable, methodPath: string): RpcAccess | undefined {
  const exact = table[methodPath];
  if (exact !== undefined) return exact;
  const slash = methodPath.lastIndexOf("/");
  return slash > 0 ? table[`${methodPath.slice(0, slash)}/*`] : undefined;
}
