import { ShoalError } from "@shoal/base";

/** Error codes of @shoal/raft. Each line says when the error happens. */
export const RaftErrorCode = {
  /** Storage was asked for an index below its first index: the entries were compacted away. */
  Compacted: "RAFT_COMPACTED",
  /** Storage was asked for an index beyond its last index. */
  Unavailable: "RAFT_UNAVAILABLE",
  /** A snapshot older than the one storage already holds was offered. */
  SnapshotOutOfDate: "RAFT_SNAPSHOT_OUT_OF_DATE",
  /** Configuration values are out of range (e.g. heartbeatTicks >= electionTicks). */
  InvalidConfig: "RAFT_INVALID_CONFIG",
  /** An internal invariant was broken (a bug, or storage that lost acknowledged data). */
  Invariant: "RAFT_INVARIANT",
} as const;
export type RaftErrorCode = (typeof RaftErrorCode)[keyof typeof RaftErrorCode];

/** A broken invariant: a bug in the core, or storage that lost acknowledged data. Crash, do not catch. */
export function invariant(message: string): ShoalError {
  return new ShoalError(RaftErrorCode.Invariant, message);
}
