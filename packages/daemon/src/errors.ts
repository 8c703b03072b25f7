/** Codes thrown or returned by @shoal/daemon. Each names one failure; messages say which value. */
export const DaemonErrorCode = {
  /** `cluster init` or `join` on a daemon that is already part of a cluster. */
  AlreadyInCluster: "DAEMON_ALREADY_IN_CLUSTER",
  /** A call that needs a cluster (Control, leave) on a daemon that is in none yet. */
  NotInCluster: "DAEMON_NOT_IN_CLUSTER",
  /** A Control call on the admin socket of a worker: only managers serve Control. */
  NotManager: "DAEMON_NOT_MANAGER",
  /** Another init, join or role change is in progress on this daemon. */
  Busy: "DAEMON_BUSY",
  /** A flag or request value is malformed; the message names it. */
  InvalidArgument: "DAEMON_INVALID_ARGUMENT",
  /** The admin socket cannot be bound (another daemon holds it, or its directory is not writable). */
  SocketInUse: "DAEMON_SOCKET_IN_USE",
  /** node.json in the data dir is not what this daemon wrote. */
  StateCorrupt: "DAEMON_STATE_CORRUPT",
  /** The method exists on the wire but this daemon does not serve it (yet). */
  Unimplemented: "DAEMON_UNIMPLEMENTED",
} as const;
export type DaemonErrorCode = (typeof DaemonErrorCode)[keyof typeof DaemonErrorCode];
