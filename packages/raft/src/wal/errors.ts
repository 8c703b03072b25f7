/**
 * Error codes of the durable storage (WAL segments and snapshot files). Every refusal names the
 * file, the byte offset when there is one, and what an operator can do about it.
 */
export const WalErrorCode = {
  /** A record in the middle of the log (valid records follow it) fails its checksum or framing. */
  Corrupt: "RAFT_WAL_CORRUPT",
  /** A segment between the first and the last is missing, or the newest one is gone. */
  MissingSegment: "RAFT_WAL_MISSING_SEGMENT",
  /** The log does not continue where the snapshot ends (entries between them were lost). */
  Gap: "RAFT_WAL_GAP",
  /** A snapshot file fails its checksum or framing. */
  SnapshotCorrupt: "RAFT_SNAPSHOT_CORRUPT",
  /** The storage was used after close(), or a write failed so it can no longer be trusted. */
  Closed: "RAFT_WAL_CLOSED",
  /** A record passed its checksum but cannot be decoded (written by an incompatible version). */
  BadRecord: "RAFT_WAL_BAD_RECORD",
} as const;
export type WalErrorCode = (typeof WalErrorCode)[keyof typeof WalErrorCode];
