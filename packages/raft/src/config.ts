import type { Logger, Random } from "@shoal/base";
import { ShoalError } from "@shoal/base";
import { RaftErrorCode } from "./errors.js";
import type { Storage } from "./storage.js";

/** Hard cap on any message the core emits: snapshot chunks and append batches stay below it. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Room left in a message for everything but entry or chunk bytes. */
const MESSAGE_HEADROOM_BYTES = 64 * 1024;

// The core's defaults, resolved once by resolveConfig.
export const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/** 0 = no cap on the uncommitted tail. */
export const DEFAULT_MAX_UNCOMMITTED_BYTES = 0;
export const DEFAULT_MAX_COMMITTED_BYTES_PER_READY = 64 * 1024 * 1024;
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** snapshotRetryTicks defaults to this many election timeouts. */
export const DEFAULT_SNAPSHOT_RETRY_ELECTIONS = 4;

export interface RaftConfig {
  /** This node's raft id (> 0, < 2^53). */
  id: number;
  storage: Storage;
  /** A follower that hears nothing from a leader for a randomized [electionTicks, 2*electionTicks) campaigns. */
  electionTicks: number;
  /** A leader sends heartbeats every heartbeatTicks (must be < electionTicks). */
  heartbeatTicks: number;
  random: Random;
  logger: Logger;
  /** Index the state machine has already applied (on restart); committed entries above it are replayed. */
  applied?: number;
  /** Upper bound on the entry bytes in one append message (at least one entry is always sent). */
  maxSizePerMsg?: number;
  /** Append messages a leader keeps in flight to one follower while replicating optimistically. */
  maxInflightMsgs?: number;
  /** Leader drops proposals once this many uncommitted entry bytes are outstanding (0 = no cap). */
  maxUncommittedBytes?: number;
  /** Upper bound on entry bytes returned in one Ready.committedEntries. */
  maxCommittedBytesPerReady?: number;
  /** Snapshot chunk size (capped to MAX_MESSAGE_BYTES less headroom). */
  snapshotChunkBytes?: number;
  /** Leader steps down when it has not heard from a quorum for an election timeout. Default true. */
  checkQuorum?: boolean;
  /** Candidates first run a pre-election that does not bump terms. Default true. */
  preVote?: boolean;
  /** Followers reject proposals instead of forwarding them to the leader. Default false. */
  disableProposalForwarding?: boolean;
  /**
   * Ticks a leader waits for an InstallSnapshot to be acknowledged before resending it
   * (chunks may be lost). Default 4 * electionTicks.
   */
  snapshotRetryTicks?: number;
  /**
   * DELIBERATELY UNSAFE, for testing the simulator's checkers only; never set outside tests.
   * "commitPreviousTerm": the leader commits earlier-term entries by counting replicas (Figure 8).
   * "voteIgnoringLog": voters skip the §5.4.1 up-to-date check, so stale logs can win elections.
   * "readIndexWithoutHeartbeat": the leader answers ReadIndex without confirming it still leads.
   * "acceptStaleAppendResp": the leader counts append acks sent in an earlier term.
   * "neverReleaseParkedReads": reads parked until the leader's first commit are never answered.
   */
  testingUnsafe?: TestingUnsafeCore;
}

/** Deliberate bugs the simulator's checkers must catch (tests only; see RaftConfig.testingUnsafe). */
export type TestingUnsafeCore =
  | "commitPreviousTerm"
  | "voteIgnoringLog"
  | "readIndexWithoutHeartbeat"
  | "acceptStaleAppendResp"
  | "neverReleaseParkedReads";

export interface ResolvedConfig {
  id: number;
  storage: Storage;
  electionTicks: number;
  heartbeatTicks: number;
  random: Random;
  logger: Logger;
  applied: number;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxUncommittedBytes: number;
  maxCommittedBytesPerReady: number;
  snapshotChunkBytes: number;
  checkQuorum: boolean;
  preVote: boolean;
  disableProposalForwarding: boolean;
  snapshotRetryTicks: number;
  testingUnsafe: TestingUnsafeCore | undefined;
}

function invalid(message: string): ShoalError {
  return new ShoalError(RaftErrorCode.InvalidConfig, message);
}

export function resolveConfig(c: RaftConfig): ResolvedConfig {
  if (!Number.isSafeInteger(c.id) || c.id <= 0)
    throw invalid(`raft id ${c.id} must be a positive integer below 2^53`);
  if (c.heartbeatTicks <= 0) throw invalid(`heartbeatTicks ${c.heartbeatTicks} must be at least 1`);
  if (c.electionTicks <= c.heartbeatTicks) {
    throw invalid(`electionTicks ${c.electionTicks} must be greater than heartbeatTicks ${c.heartbeatTicks}`);
  }
  const maxSizePerMsg = Math.min(
    c.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG,
    MAX_MESSAGE_BYTES - MESSAGE_HEADROOM_BYTES,
  );
  const maxInflightMsgs = c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS;
  if (maxInflightMsgs <= 0) throw invalid(`maxInflightMsgs ${maxInflightMsgs} must be at least 1`);
  const chunk = Math.min(
    c.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES,
    MAX_MESSAGE_BYTES - MESSAGE_HEADROOM_BYTES,
  );
  if (chunk <= 0) throw invalid(`snapshotChunkBytes ${chunk} must be at least 1`);
  return {
    id: c.id,
    storage: c.storage,
    electionTicks: c.electionTicks,
    heartbeatTicks: c.heartbeatTicks,
    random: c.random,
    logger: c.logger,
    applied: c.applied ?? 0,
    maxSizePerMsg,
    maxInflightMsgs,
    maxUncommittedBytes: c.maxUncommittedBytes ?? DEFAULT_MAX_UNCOMMITTED_BYTES,
    maxCommittedBytesPerReady: c.maxCommittedBytesPerReady ?? DEFAULT_MAX_COMMITTED_BYTES_PER_READY,
    snapshotChunkBytes: chunk,
    checkQuorum: c.checkQuorum ?? true,
    preVote: c.preVote ?? true,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    snapshotRetryTicks: c.snapshotRetryTicks ?? DEFAULT_SNAPSHOT_RETRY_ELECTIONS * c.electionTicks,
    testingUnsafe: c.testingUnsafe,
  };
}
