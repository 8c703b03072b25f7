/** Every code the store raises; each line says when it happens. */
export const StoreErrorCode = {
  /** An update read an object at one version and another write changed it before apply. */
  VersionConflict: "STORE_VERSION_CONFLICT",
  /** A create or rename would give two objects of one kind the same name. */
  NameConflict: "STORE_NAME_CONFLICT",
  /** A create names an id that already exists. */
  AlreadyExists: "STORE_ALREADY_EXISTS",
  /** An update or delete names an id that does not exist (or a look-up found nothing). */
  NotFound: "STORE_NOT_FOUND",
  /** An object refers to a service, network, secret or config that does not exist. */
  MissingReference: "STORE_MISSING_REFERENCE",
  /** A secret, config or network is still referenced by a service or a live task. */
  InUse: "STORE_IN_USE",
  /** A task update would move its observed state backwards. */
  TaskStateBackwards: "STORE_TASK_STATE_BACKWARDS",
  /** An object has no id, or is not of the kind it was written as. */
  InvalidObject: "STORE_INVALID_OBJECT",
  /** An id prefix matches more than one object. */
  AmbiguousPrefix: "STORE_AMBIGUOUS_PREFIX",
  /** One transaction is larger than the 1.5 MiB limit of a raft entry. */
  TransactionTooLarge: "STORE_TRANSACTION_TOO_LARGE",
  /** A watcher fell behind its bounded queue (or the store was replaced by a snapshot): resync. */
  WatchLagged: "STORE_WATCH_LAGGED",
  /** A snapshot's data cannot be decoded: the member refuses to start. */
  SnapshotCorrupt: "STORE_SNAPSHOT_CORRUPT",
  /** A committed entry cannot be decoded: a broken invariant, the member stops. */
  EntryCorrupt: "STORE_ENTRY_CORRUPT",
  /** The proposal entered no log (leader change, removed member, refused by raft): not applied. */
  ProposalDropped: "STORE_PROPOSAL_DROPPED",
  /** No leader is known (election in progress or quorum lost); `details.leader` is the hint. */
  NoLeader: "STORE_NO_LEADER",
  /** The proposal may or may not have been applied (leadership lost after it was appended). */
  OutcomeUnknown: "STORE_OUTCOME_UNKNOWN",
  /** The proposal's deadline passed before its entry was applied here; the outcome is unknown. */
  DeadlineExceeded: "STORE_DEADLINE_EXCEEDED",
  /** The store is closed or its raft member stopped. */
  Closed: "STORE_CLOSED",
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];
