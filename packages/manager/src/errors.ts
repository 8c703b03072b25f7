/** Codes thrown or returned by @shoal/manager. Each names one failure; messages say which value. */
export const ManagerErrorCode = {
  /** A write reached a manager that is not the leader and no leader is known to forward it to. */
  NoLeader: "MANAGER_NO_LEADER",
  /** A leader-only service (the dispatcher) was called on a follower; `details.leaderAddr` says where to go. */
  NotLeader: "MANAGER_NOT_LEADER",
  /** A membership change (leave, demote, remove) would leave too few reachable managers for quorum. */
  QuorumUnsafe: "MANAGER_QUORUM_UNSAFE",
  /** A join token is malformed, of another cluster, or not the current worker/manager token. */
  JoinTokenRefused: "MANAGER_JOIN_TOKEN_REFUSED",
  /** A node or raft member that was removed from the cluster tried to come back with its old identity. */
  NodeRemoved: "MANAGER_NODE_REMOVED",
  /** An object named in a request does not exist. */
  NotFound: "MANAGER_NOT_FOUND",
  /** A request field is missing or malformed; `details.field` names it. */
  InvalidArgument: "MANAGER_INVALID_ARGUMENT",
  /** A secret or config is referenced by services and cannot be removed; the message names them. */
  InUse: "MANAGER_IN_USE",
  /** A dispatcher session id is unknown or belongs to another node (the agent opens a new session). */
  SessionInvalid: "MANAGER_SESSION_INVALID",
  /** An agent's session stream sent a second `open`, a message of no kind, or a heartbeat before `open`. */
  SessionProtocol: "MANAGER_SESSION_PROTOCOL",
  /** A session stream sent no `open` message within the dispatcher's `sessionOpenTimeoutMs`. */
  SessionOpenTimeout: "MANAGER_SESSION_OPEN_TIMEOUT",
  /** A node reported the status of a task that is not assigned to it. */
  NotOwnTask: "MANAGER_NOT_OWN_TASK",
  /** The caller's certificate role may not call the method (sent by the cluster port for pki's refusals). */
  PermissionDenied: "MANAGER_PERMISSION_DENIED",
  /** The caller presented no verified certificate of this cluster for a method that needs one. */
  Unauthenticated: "MANAGER_UNAUTHENTICATED",
  /** The method exists on the wire but this manager does not serve it (yet). */
  Unimplemented: "MANAGER_UNIMPLEMENTED",
  /** The manager is shutting down or not ready to serve the request. */
  Unavailable: "MANAGER_UNAVAILABLE",
  /** Options given to a manager component are out of range; the message names the option. */
  InvalidOptions: "MANAGER_INVALID_OPTIONS",
  /** An unexpected failure in a handler (a broken invariant); the cause is logged. */
  Internal: "MANAGER_INTERNAL",
} as const;
export type ManagerErrorCode = (typeof ManagerErrorCode)[keyof typeof ManagerErrorCode];
