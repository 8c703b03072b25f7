import { RaftMessage } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import type { Message } from "../types.js";
import { estimateWireBytes, fromWire, toWire } from "./wire.js";

const b = (...xs: number[]) => new Uint8Array(xs);
const entries = [
  { term: 2, index: 7, type: "normal" as const, data: b(1, 2) },
  { term: 2, index: 8, type: "confChange" as const, data: b(3) },
];
const all: Message[] = [
  { type: "prop", from: 2, to: 1, term: 0, entries },
  { type: "app", from: 1, to: 2, term: 2, index: 6, logTerm: 1, entries, commit: 5 },
  { type: "appResp", from: 2, to: 1, term: 2, index: 6, reject: true, rejectHint: 4, logTerm: 1 },
  { type: "vote", from: 3, to: 1, term: 9, index: 8, logTerm: 2, transfer: true },
  { type: "preVote", from: 3, to: 1, term: 9, index: 8, logTerm: 2, transfer: false },
  { type: "voteResp", from: 1, to: 3, term: 9, reject: false },
  { type: "preVoteResp", from: 1, to: 3, term: 9, reject: true },
  {
    type: "snap",
    from: 1,
    to: 2,
    term: 2,
    offset: 1024,
    data: b(9, 9, 9),
    totalBytes: 2048,
    done: false,
    meta: { index: 100, term: 2, confState: { voters: [1, 2, 3], learners: [4] } },
  },
  { type: "heartbeat", from: 1, to: 2, term: 2, commit: 8, context: b(5) },
  { type: "heartbeatResp", from: 2, to: 1, term: 2, context: b(5) },
  { type: "transferLeader", from: 3, to: 1, term: 0 },
  { type: "timeoutNow", from: 1, to: 3, term: 2 },
  { type: "readIndex", from: 2, to: 1, term: 0, context: b(1, 1) },
  { type: "readIndexResp", from: 1, to: 2, term: 2, index: 8, context: b(1, 1) },
];

describe("wire conversion", () => {
  it.each(all.map((m) => [m.type, m] as const))("round-trips %s through protobuf bytes", (_type, m) => {
    const bytes = RaftMessage.encode(toWire(m)).finish();
    const back = fromWire(RaftMessage.decode(bytes));
    expect(back).toEqual(m);
    expect(estimateWireBytes(m)).toBeGreaterThanOrEqual(bytes.length);
  });
});
