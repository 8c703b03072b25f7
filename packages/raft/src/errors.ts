/** Error codes of @shoal/raft. Each line says when the error happens. */
export const RaftErrorCode = {
  /** Storage was asked for an index below its first index: the entries were compacted away. */
  Compacted: "RAFT_COMPACTED",
  /** Storage was asked for an index beyond its last index. */
  Unavailable: "RAFT_UNAVAILABLE",
  /** A snapshot older than the one storage already holds was offered. */
  SnapshotOutOfDate: "RAFT_SNAPSHOT_OUT_OF_DATE",
  /** A proposal was dropped: no leader known, leadership transfer in progress, or size cap hit. */
  ProposalDropped: "RAFT_PROPOSAL_DROPPED",
  /** Configuration values are out of range (e.g. heartbeatTicks >= electionTicks). */
  InvalidConfig: "RAFT_INVALID_CONFIG",
  /** An internal invariant was broken (a bug, or storage that lost acknowledged data). */
  Invariant: "RAFT_INVARIANT",
} as const;
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];
