/**
 * The data the Raft core consumes and produces. Ids, terms and indexes are plain numbers: raft ids
 * are uint64 on the wire but Shoal keeps them below 2^53 so they stay exact in a double. Id 0 means
 * "none" (no leader, no vote).
 */

export const NONE = 0;

export const EntryType = {
  Normal: "normal",
  /** `data` is an encoded ConfChange (see conf-change.ts). */
  ConfChange: "confChange",
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be durable before any message that depends on it leaves the node. */
export interface HardState {
  term: number;
  /** The candidate voted for in `term`, or NONE. */
  vote: number;
  /** Highest index known committed; persisted so a restart never re-applies less than it acked. */
  commit: number;
}

export interface ConfState {
  voters: number[];
  learners: number[];
}

export interface SnapshotMeta {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  data: Uint8Array;
}

export const ConfChangeType = {
  AddVoter: "addVoter",
  /** Adds a non-voting member (or demotes a voter to one); it catches up before promotion. */
  AddLearner: "addLearner",
  RemoveNode: "removeNode",
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
  /** Opaque to raft (e.g. the new member's address); carried through to the applied entry. */
  context?: Uint8Array;
}

/** A linearizable read point: once the applied index reaches `index`, reads may be served. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

export const Role = {
  Follower: "follower",
  PreCandidate: "preCandidate",
  Candidate: "candidate",
  Leader: "leader",
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Volatile state, reported in a Ready when it changed; never persisted. */
export interface SoftState {
  leader: number;
  role: Role;
}

// ---- Messages -------------------------------------------------------------------------------
// Only messages that travel between nodes; local events (tick, campaign, unreachable, snapshot
// status) are methods on RawNode instead of fake messages.

export const MessageType = {
  /** A proposal forwarded from a follower to the leader. */
  Prop: "prop",
  App: "app",
  AppResp: "appResp",
  Vote: "vote",
  VoteResp: "voteResp",
  PreVote: "preVote",
  PreVoteResp: "preVoteResp",
  /** One chunk of an InstallSnapshot; the follower applies the snapshot when `done` arrives. */
  Snap: "snap",
  Heartbeat: "heartbeat",
  HeartbeatResp: "heartbeatResp",
  /** Sent by a follower to forward a transfer request to the leader (`from` is the transferee). */
  TransferLeader: "transferLeader",
  /** The leader tells the transferee to campaign now, skipping PreVote and the lease check. */
  TimeoutNow: "timeoutNow",
  ReadIndex: "readIndex",
  ReadIndexResp: "readIndexResp",
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

interface MessageBase {
  from: number;
  to: number;
  /** Sender's term; 0 for a forwarded proposal or read (they are term-less). */
  term: number;
}

export interface PropMessage extends MessageBase {
  type: "prop";
  entries: Entry[];
}

export interface AppMessage extends MessageBase {
  type: "app";
  /** Index and term of the entry just before `entries`. */
  index: number;
  logTerm: number;
  entries: Entry[];
  commit: number;
}

export interface AppRespMessage extends MessageBase {
  type: "appResp";
  /** Accepted: the follower's last index matching the leader. Rejected: the probed index. */
  index: number;
  reject: boolean;
  /** On reject: an index at or below which the leader should probe next (fast backtracking). */
  rejectHint: number;
  /** On reject: the follower's term at rejectHint, letting the leader skip a whole term. */
  logTerm: number;
}

export interface VoteMessage extends MessageBase {
  type: "vote" | "preVote";
  /** Candidate's last log index and term. */
  index: number;
  logTerm: number;
  /** Set when campaigning for a leadership transfer: voters skip the leader-lease check. */
  transfer: boolean;
}

export interface VoteRespMessage extends MessageBase {
  type: "voteResp" | "preVoteResp";
  reject: boolean;
}

export interface SnapMessage extends MessageBase {
  type: "snap";
  meta: SnapshotMeta;
  /** Byte offset of this chunk within the snapshot data. */
  offset: number;
  data: Uint8Array;
  /** Total snapshot size in bytes, so the receiver can pre-allocate and check completeness. */
  totalBytes: number;
  done: boolean;
}

export interface HeartbeatMessage extends MessageBase {
  type: "heartbeat";
  commit: number;
  /** ReadIndex round this heartbeat confirms leadership for (empty when none). */
  context: Uint8Array;
}

export interface HeartbeatRespMessage extends MessageBase {
  type: "heartbeatResp";
  context: Uint8Array;
}

export interface TransferLeaderMessage extends MessageBase {
  type: "transferLeader";
}

export interface TimeoutNowMessage extends MessageBase {
  type: "timeoutNow";
}

export interface ReadIndexMessage extends MessageBase {
  type: "readIndex";
  context: Uint8Array;
}

export interface ReadIndexRespMessage extends MessageBase {
  type: "readIndexResp";
  index: number;
  context: Uint8Array;
}

export type Message =
  | PropMessage
  | AppMessage
  | AppRespMessage
  | VoteMessage
  | VoteRespMessage
  | SnapMessage
  | HeartbeatMessage
  | HeartbeatRespMessage
  | TransferLeaderMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexRespMessage;

/**
 * One batch of work for the caller. Order of handling (the durability contract):
 * 1. persist `snapshot`, `entries` and `hardState` (fsync when `mustSync`);
 * 2. then send `messages` (votes and acks promise durability, so never before step 1);
 * 3. apply `snapshot` (if any) and then `committedEntries` to the state machine;
 *    serve reads for `readStates` once applied up to their index;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  messages: Message[];
  /** True when hard state or entries changed in a way that must reach disk before messages go. */
  mustSync: boolean;
  committedEntries: Entry[];
  readStates: ReadState[];
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Bytes an entry counts for against size limits (payload plus a fixed header estimate). */
export function entrySize(e: Entry): number {
  return e.data.byteLength + 24;
}
