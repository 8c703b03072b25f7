import { describe, expect, it } from "vitest";
import { ReadOnly } from "./read-only.js";

const ctx = (s: string) => new TextEncoder().encode(s);
const voters = new Set([1, 2, 3]);
const isVoter = (id: number) => voters.has(id);

describe("ReadOnly", () => {
  it("counts only voters' heartbeat answers for a read context", () => {
    const ro = new ReadOnly();
    ro.add(7, 0, ctx("a"));
    expect(ro.recvAck(1, ctx("a"), isVoter)).toBe(1);
    expect(ro.recvAck(9, ctx("a"), isVoter)).toBe(1); // a learner cannot vouch
    expect(ro.recvAck(2, ctx("a"), isVoter)).toBe(2);
    expect(ro.recvAck(2, ctx("a"), isVoter)).toBe(2); // duplicates count once
    expect(ro.recvAck(3, ctx("unknown"), isVoter)).toBe(0);
  });

  it("releases a confirmed read together with every read queued before it, in order", () => {
    const ro = new ReadOnly();
    ro.add(5, 2, ctx("a"));
    ro.add(6, 0, ctx("b"));
    ro.add(8, 3, ctx("c"));
    expect(ro.lastPendingContext()).toEqual(ctx("c"));
    const released = ro.advance(ctx("b"));
    expect(released.map((r) => [r.index, r.from])).toEqual([
      [5, 2],
      [6, 0],
    ]);
    expect(ro.advance(ctx("a"))).toEqual([]); // already released
    expect(ro.lastPendingContext()).toEqual(ctx("c"));
    expect(ro.advance(ctx("c")).map((r) => r.index)).toEqual([8]);
    expect(ro.lastPendingContext()).toBeUndefined();
  });

  it("keeps the first request for a context that is added twice, and forgets all on reset", () => {
    const ro = new ReadOnly();
    ro.add(5, 2, ctx("a"));
    ro.add(9, 3, ctx("a"));
    expect(ro.advance(ctx("a")).map((r) => [r.index, r.from])).toEqual([[5, 2]]);
    ro.add(10, 0, ctx("x"));
    ro.reset();
    expect(ro.lastPendingContext()).toBeUndefined();
    expect(ro.recvAck(1, ctx("x"), isVoter)).toBe(0);
  });

  it("matches contexts by content, also when they are views into larger buffers", () => {
    const ro = new ReadOnly();
    const big = ctx("__abc__");
    ro.add(3, 0, big.subarray(2, 5));
    expect(ro.recvAck(1, ctx("abc"), isVoter)).toBe(1);
  });
});
