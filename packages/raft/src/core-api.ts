import type { ConfChange, ConfState, Message, Ready, Role } from "./types.js";

/** Outcome of propose()/proposeConfChange(): an expected result, not an exception. */
export type ProposeResult =
  /** Appended to the leader's log at `index` in `term`: it is applied iff the entry applied at `index` has `term`. */
  | { ok: true; forwarded: false; index: number; term: number }
  /** Forwarded to leader `leader`; the caller matches the applied entry by its own request id. */
  | { ok: true; forwarded: true; leader: number }
  | { ok: false; reason: ProposeRejectReason; leader: number };

export type ProposeRejectReason =
  | "noLeader"
  | "notLeader" /** forwarding disabled: `leader` is the hint */
  | "transferring"
  | "uncommittedCap"
  | "confChangePending"
  | "removed";

export interface ProgressStatus {
  match: number;
  next: number;
  state: "probe" | "replicate" | "snapshot";
  recentActive: boolean;
}

export interface Status {
  id: number;
  term: number;
  vote: number;
  commit: number;
  applied: number;
  lastIndex: number;
  leader: number;
  role: Role;
  confState: ConfState;
  /** Leaders only: per-peer replication progress. */
  progress: Map<number, ProgressStatus>;
  leadTransferee: number;
}

/**
 * The synchronous core as the driver sees it (implemented by RawNode). All methods are pure
 * state transitions; their effects come out of ready().
 */
export interface RawNodeApi {
  /** Advances logical time by one tick (elections, heartbeats, quorum checks). */
  tick(): void;
  /** Feeds a message received from a peer. Messages from other terms are handled per Raft rules. */
  step(message: Message): void;
  /** Starts an election now (used by tests and single-node bootstrap). */
  campaign(): void;
  propose(data: Uint8Array): ProposeResult;
  /** Proposes one membership change; rejected while another is still uncommitted/unapplied. */
  proposeConfChange(change: ConfChange): ProposeResult;
  /** Requests a linearizable read point; it comes back in Ready.readStates with the same ctx. */
  readIndex(context: Uint8Array): void;
  /** Asks the leader to hand leadership to `to` (forwarded when called on a follower). */
  transferLeadership(to: number): void;
  /** The transport could not reach `id`: the leader stops optimistic pipelining to it. */
  reportUnreachable(id: number): void;
  /** The transport finished (or failed) streaming a snapshot to `id`. */
  reportSnapshot(id: number, ok: boolean): void;
  hasReady(): boolean;
  ready(): Ready;
  /** Confirms the last Ready was handled (persisted, sent, applied); conf changes in it take effect. */
  advance(ready: Ready): void;
  status(): Status;
}
