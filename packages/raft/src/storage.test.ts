import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { RaftErrorCode } from "./errors.js";
import { MemoryStorage } from "./storage.js";
import type { Entry } from "./types.js";

function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ term, index: i, type: "normal", data: new Uint8Array(10) });
  return out;
}

describe("MemoryStorage", () => {
  it("appends, truncates a conflicting suffix and answers term lookups", () => {
    const s = MemoryStorage.bootstrap([1, 2, 3]);
    s.append(ents(1, 5, 1));
    s.append(ents(4, 6, 2));
    expect(s.lastIndex()).toBe(6);
    expect(s.term(3)).toBe(1);
    expect(s.term(4)).toBe(2);
    expect(s.entries(2, 7, Number.MAX_SAFE_INTEGER).map((e) => e.index)).toEqual([2, 3, 4, 5, 6]);
  });

  it("limits entries by size but always returns at least one", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 5, 1));
    expect(s.entries(1, 6, 0)).toHaveLength(1);
    expect(s.entries(1, 6, 68)).toHaveLength(2);
  });

  it("compacts and reports compacted and unavailable indexes with stable codes", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 10, 3));
    s.compact(4);
    expect(s.firstIndex()).toBe(5);
    expect(s.term(4)).toBe(3);
    expect(() => s.term(3)).toThrow(expect.objectContaining({ code: RaftErrorCode.Compacted }));
    expect(() => s.entries(5, 12, 100)).toThrow(expect.objectContaining({ code: RaftErrorCode.Unavailable }));
  });

  it("installs a snapshot, replacing the log, and refuses an older one", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 3, 1));
    s.applySnapshot({
      meta: { index: 10, term: 4, confState: { voters: [1], learners: [] } },
      data: new Uint8Array(1),
    });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(4);
    let err: unknown;
    try {
      s.applySnapshot({
        meta: { index: 5, term: 1, confState: { voters: [1], learners: [] } },
        data: new Uint8Array(0),
      });
    } catch (e) {
      err = e;
    }
    expect(ShoalError.is(err, RaftErrorCode.SnapshotOutOfDate)).toBe(true);
  });
});
