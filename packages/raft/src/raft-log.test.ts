import { describe, expect, it } from "vitest";
import { RaftLog } from "./raft-log.js";
import { MemoryStorage } from "./storage.js";
import type { Entry } from "./types.js";

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** Entries at consecutive indexes from `from`, with the given terms. */
function ents(from: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({
    term,
    index: from + i,
    type: "normal",
    data: new Uint8Array([from + i]),
  }));
}

/** A log whose storage holds entries 1..n with `terms` (durable), nothing unstable. */
function logWith(...terms: number[]): RaftLog {
  const s = new MemoryStorage();
  s.append(ents(1, ...terms));
  return new RaftLog(s, NO_LIMIT);
}

const termsOf = (log: RaftLog) =>
  log.slice(log.firstIndex(), log.lastIndex() + 1, NO_LIMIT).map((e) => e.term);

describe("RaftLog", () => {
  it("reads across storage and the unstable tail", () => {
    const log = logWith(1, 1, 2);
    log.append(ents(4, 3, 3));
    expect([log.firstIndex(), log.lastIndex(), log.lastTerm()]).toEqual([1, 5, 3]);
    expect(termsOf(log)).toEqual([1, 1, 2, 3, 3]);
    expect(log.term(0)).toBe(0);
    expect(log.term(6)).toBeUndefined();
    expect(log.unstableEntries().map((e) => e.index)).toEqual([4, 5]);
    log.stableTo(5, 3);
    expect(log.unstableEntries()).toEqual([]);
  });

  it("isUpToDate compares last term first, then length (§5.4.1)", () => {
    const log = logWith(1, 2, 2);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(10, 1)).toBe(false);
  });

  it("maybeAppend: refuses a mismatch, skips entries it has, truncates a conflicting suffix", () => {
    const log = logWith(1, 1, 2, 2);
    expect(log.maybeAppend(4, 3, 0, ents(5, 3))).toBeUndefined(); // term at 4 is 2, not 3
    expect(log.maybeAppend(2, 1, 0, ents(3, 2, 2))).toBe(4); // duplicates: nothing changes
    expect(log.unstableEntries()).toEqual([]);
    expect(log.maybeAppend(2, 1, 3, ents(3, 3, 3, 3))).toBe(5); // conflict at 3: replaced
    expect(termsOf(log)).toEqual([1, 1, 3, 3, 3]);
    expect(log.committed).toBe(3);
    expect(log.maybeAppend(5, 3, 100, [])).toBe(5);
    expect(log.committed).toBe(5); // min(leader commit, last new index)
  });

  it("never overwrites a committed entry: that is a broken invariant", () => {
    const log = logWith(1, 1, 2);
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, 3, ents(2, 5))).toThrow(
      expect.objectContaining({ code: "RAFT_INVARIANT" }),
    );
    expect(() => log.commitTo(4)).toThrow(/commit index 4 is beyond the last index 3/);
    expect(() => log.appliedTo(4)).toThrow(/applied index 4 is outside \[0, 3\]/);
  });

  it("findConflictByTerm: the largest index at or below with a term at or below", () => {
    const log = logWith(1, 1, 2, 2, 4, 4);
    expect(log.findConflictByTerm(6, 3)).toEqual({ index: 4, term: 2 });
    expect(log.findConflictByTerm(6, 4)).toEqual({ index: 6, term: 4 });
    expect(log.findConflictByTerm(10, 1)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(6, 0)).toEqual({ index: 0, term: 0 });
  });

  it("maybeCommit commits only an entry of the given term (Figure 8)", () => {
    const log = logWith(1, 2, 3);
    expect(log.maybeCommit(2, 3)).toBe(false);
    expect(log.committed).toBe(0);
    expect(log.maybeCommit(3, 3)).toBe(true);
    expect(log.committed).toBe(3);
    expect(log.maybeCommit(3, 3)).toBe(false); // already there
  });

  it("hands out committed entries once each, within the byte limit", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1, 1, 1));
    const log = new RaftLog(s, 2 * (1 + 24)); // two one-byte entries per batch
    log.commitTo(3);
    expect(log.hasNextCommittedEntries()).toBe(true);
    const first = log.nextCommittedEntries();
    expect(first.map((e) => e.index)).toEqual([1, 2]);
    log.appliedTo(2);
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([3]);
    log.appliedTo(3);
    expect(log.hasNextCommittedEntries()).toBe(false);
  });

  it("after a snapshot restore the log starts right past it", () => {
    const log = logWith(1, 1);
    log.restore({
      meta: { index: 10, term: 4, confState: { voters: [1], learners: [] } },
      data: new Uint8Array(),
    });
    expect([log.firstIndex(), log.lastIndex(), log.committed, log.term(10)]).toEqual([11, 10, 10, 4]);
    expect(log.entriesFrom(5, NO_LIMIT)).toBeUndefined(); // compacted: send a snapshot instead
    expect(log.entriesFrom(11, NO_LIMIT)).toEqual([]);
    log.append(ents(11, 5));
    expect(log.lastTerm()).toBe(5);
  });
});
