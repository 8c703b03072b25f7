import { ShoalError } from "@shoal/base";
import {
  type RaftMessage,
  type SnapshotMetadata,
  RaftMessageType as T,
  type Entry as WireEntry,
  EntryType as WireEntryType,
} from "@shoal/proto";
import { type Entry, EntryType, type Message, type SnapshotMeta } from "../types.js";
import { TransportErrorCode } from "./errors.js";

/**
 * Conversion between the core's messages and `shoal.v1.RaftMessage`. Lives in the transport so
 * the core never sees generated wire types.
 */

const EMPTY = new Uint8Array(0);
/** Vote `context` marking a campaign for a leadership transfer (voters skip the lease check). */
const TRANSFER_CONTEXT = new Uint8Array([1]);

function blank(type: RaftMessage["type"], m: Message): RaftMessage {
  return {
    type,
    to: m.to,
    from: m.from,
    term: m.term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: EMPTY,
    snapshotData: EMPTY,
  };
}

function entryToWire(e: Entry): WireEntry {
  return {
    term: e.term,
    index: e.index,
    type: e.type === EntryType.ConfChange ? WireEntryType.CONF_CHANGE : WireEntryType.NORMAL,
    data: e.data,
  };
}

function entryFromWire(e: WireEntry): Entry {
  return {
    term: e.term,
    index: e.index,
    type: e.type === WireEntryType.CONF_CHANGE ? EntryType.ConfChange : EntryType.Normal,
    data: e.data,
  };
}

function metaToWire(m: SnapshotMeta): SnapshotMetadata {
  return {
    index: m.index,
    term: m.term,
    confState: { voters: [...m.confState.voters], learners: [...m.confState.learners] },
  };
}

function metaFromWire(m: SnapshotMetadata): SnapshotMeta {
  return {
    index: m.index,
    term: m.term,
    confState: { voters: m.confState?.voters ?? [], learners: m.confState?.learners ?? [] },
  };
}

export function toWire(m: Message): RaftMessage {
  switch (m.type) {
    case "prop":
      return { ...blank(T.PROP, m), entries: m.entries.map(entryToWire) };
    case "app":
      return {
        ...blank(T.APP, m),
        index: m.index,
        logTerm: m.logTerm,
        entries: m.entries.map(entryToWire),
        commit: m.commit,
      };
    case "appResp":
      return {
        ...blank(T.APP_RESP, m),
        index: m.index,
        reject: m.reject,
        rejectHint: m.rejectHint,
        logTerm: m.logTerm,
      };
    case "vote":
    case "preVote":
      return {
        ...blank(m.type === "vote" ? T.VOTE : T.PRE_VOTE, m),
        index: m.index,
        logTerm: m.logTerm,
        context: m.transfer ? TRANSFER_CONTEXT : EMPTY,
      };
    case "voteResp":
    case "preVoteResp":
      return { ...blank(m.type === "voteResp" ? T.VOTE_RESP : T.PRE_VOTE_RESP, m), reject: m.reject };
    case "snap":
      return {
        ...blank(T.SNAPSHOT, m),
        snapshot: metaToWire(m.meta),
        snapshotChunk: { offset: m.offset, totalBytes: m.totalBytes, data: m.data, last: m.done },
      };
    case "heartbeat":
      return { ...blank(T.HEARTBEAT, m), commit: m.commit, context: m.context };
    case "heartbeatResp":
      return { ...blank(T.HEARTBEAT_RESP, m), context: m.context };
    case "transferLeader":
      return blank(T.TRANSFER_LEADER, m);
    case "timeoutNow":
      return blank(T.TIMEOUT_NOW, m);
    case "readIndex":
      return { ...blank(T.READ_INDEX, m), context: m.context };
    case "readIndexResp":
      return { ...blank(T.READ_INDEX_RESP, m), index: m.index, context: m.context };
  }
}

function bad(w: RaftMessage, why: string): ShoalError {
  return new ShoalError(
    TransportErrorCode.BadMessage,
    `raft message of type ${w.type} from ${w.from} is invalid: ${why}`,
    {
      details: { type: w.type, from: w.from, to: w.to },
    },
  );
}

export function fromWire(w: RaftMessage): Message {
  const base = { from: w.from, to: w.to, term: w.term };
  switch (w.type) {
    case T.PROP:
      return { ...base, type: "prop", entries: w.entries.map(entryFromWire) };
    case T.APP:
      return {
        ...base,
        type: "app",
        index: w.index,
        logTerm: w.logTerm,
        entries: w.entries.map(entryFromWire),
        commit: w.commit,
      };
    case T.APP_RESP:
      return {
        ...base,
        type: "appResp",
        index: w.index,
        reject: w.reject,
        rejectHint: w.rejectHint,
        logTerm: w.logTerm,
      };
    case T.VOTE:
    case T.PRE_VOTE:
      return {
        ...base,
        type: w.type === T.VOTE ? "vote" : "preVote",
        index: w.index,
        logTerm: w.logTerm,
        transfer: w.context.length === 1 && w.context[0] === 1,
      };
    case T.VOTE_RESP:
    case T.PRE_VOTE_RESP:
      return { ...base, type: w.type === T.VOTE_RESP ? "voteResp" : "preVoteResp", reject: w.reject };
    case T.SNAPSHOT: {
      if (w.snapshot === undefined) throw bad(w, "snapshot metadata missing");
      const chunk = w.snapshotChunk;
      // A whole small snapshot may come in snapshot_data instead of chunks.
      const data = chunk?.data ?? w.snapshotData;
      return {
        ...base,
        type: "snap",
        meta: metaFromWire(w.snapshot),
        offset: chunk?.offset ?? 0,
        data,
        totalBytes: chunk?.totalBytes ?? data.byteLength,
        done: chunk?.last ?? true,
      };
    }
    case T.HEARTBEAT:
      return { ...base, type: "heartbeat", commit: w.commit, context: w.context };
    case T.HEARTBEAT_RESP:
      return { ...base, type: "heartbeatResp", context: w.context };
    case T.TRANSFER_LEADER:
      return { ...base, type: "transferLeader" };
    case T.TIMEOUT_NOW:
      return { ...base, type: "timeoutNow" };
    case T.READ_INDEX:
      return { ...base, type: "readIndex", context: w.context };
    case T.READ_INDEX_RESP:
      return { ...base, type: "readIndexResp", index: w.index, context: w.context };
    default:
      throw bad(w, "unknown or local-only message type");
  }
}

/**
 * An upper bound on a message's encoded size, cheap enough to check before every send: payload
 * bytes plus generous per-entry and fixed overheads.
 */
export function estimateWireBytes(m: Message): number {
  let n = 256;
  if (m.type === "app" || m.type === "prop") for (const e of m.entries) n += e.data.byteLength + 48;
  else if (m.type === "snap")
    n += m.data.byteLength + 64 + 10 * (m.meta.confState.voters.length + m.meta.confState.learners.length);
  else if (
    m.type === "heartbeat" ||
    m.type === "heartbeatResp" ||
    m.type === "readIndex" ||
    m.type === "readIndexResp"
  )
    n += m.context.byteLength;
  return n;
}
