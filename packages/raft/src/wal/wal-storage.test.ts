import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ShoalError, seededRandom } from "@shoal/base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bootstrapLog } from "../storage.js";
import type { Entry, HardState } from "../types.js";
import { WalErrorCode } from "./errors.js";
import { nodeFileSystem } from "./file-system.js";
import { encodeFrame, scanFrames } from "./frame.js";
import { encodeBatch } from "./records.js";
import { writeSnapshotFile } from "./snapshot-files.js";
import { WalStorage } from "./wal-storage.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-wal-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ent(index: number, term: number, text = `v${index}`): Entry {
  return { index, term, type: "normal", data: new TextEncoder().encode(text) };
}
function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term));
  return out;
}
function hs(term: number, commit: number, vote = 1): HardState {
  return { term, vote, commit };
}
function texts(s: WalStorage): string[] {
  if (s.lastIndex() < s.firstIndex()) return [];
  return s
    .entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
    .map((e) => `${e.index}/${e.term}:${new TextDecoder().decode(e.data)}`);
}
const walDir = () => join(dir, "wal");
async function segments(): Promise<string[]> {
  return (await readdir(walDir()))
    .filter((n) => n.endsWith(".wal"))
    .sort()
    .map((n) => join(walDir(), n));
}
/** End of the last valid frame (the file continues with preallocated zeros). */
async function usedBytes(path: string): Promise<number> {
  return scanFrames(await readFile(path)).validEnd;
}
async function expectRefusal(code: string): Promise<ShoalError> {
  const err = await WalStorage.open({ dir }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(ShoalError.is(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  return err as ShoalError;
}

describe("WalStorage", () => {
  it("replays hard state and entries after a restart", async () => {
    const s = await WalStorage.open({ dir });
    expect(s.recovery.created).toBe(true);
    await s.save(hs(1, 0), ents(1, 3, 1));
    await s.save(hs(1, 2), ents(4, 5, 1));
    await s.close();

    const r = await WalStorage.open({ dir });
    expect(r.recovery.created).toBe(false);
    expect(r.initialState()).toEqual({ hardState: hs(1, 2), confState: { voters: [], learners: [] } });
    expect(r.firstIndex()).toBe(1);
    expect(r.lastIndex()).toBe(5);
    expect(r.term(5)).toBe(1);
    expect(texts(r)).toEqual(["1/1:v1", "2/1:v2", "3/1:v3", "4/1:v4", "5/1:v5"]);
    await r.close();
  });

  it("bootstraps a new cluster member with the shared bootstrap log, once", async () => {
    const s = await WalStorage.open({ dir, bootstrapVoters: [1, 2, 3] });
    const boot = bootstrapLog([1, 2, 3]);
    expect(s.hardState()).toEqual(boot.hardState);
    expect(s.entries(1, 4, Number.MAX_SAFE_INTEGER)).toEqual(boot.entries);
    await s.save(hs(2, 3, 2), [ent(4, 2)]);
    await s.close();
    // Reopening with the option again must not bootstrap a second time.
    const r = await WalStorage.open({ dir, bootstrapVoters: [1, 2, 3] });
    expect(r.lastIndex()).toBe(4);
    expect(r.hardState()).toEqual(hs(2, 3, 2));
    await r.close();
  });

  it("truncates the log at a later append of an earlier index, also after a restart", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 1), ents(1, 5, 1));
    await s.save(hs(2, 2), [ent(3, 2, "new3"), ent(4, 2, "new4")]);
    expect(texts(s)).toEqual(["1/1:v1", "2/1:v2", "3/2:new3", "4/2:new4"]);
    await s.close();
    const r = await WalStorage.open({ dir });
    expect(texts(r)).toEqual(["1/1:v1", "2/1:v2", "3/2:new3", "4/2:new4"]);
    expect(r.hardState()).toEqual(hs(2, 2));
    await r.close();
  });

  it("keeps a commit-only hard state unsynced until the next synced batch carries it", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 0), ents(1, 3, 1));
    await s.save(hs(1, 3), [], undefined, false);
    expect(s.hardState()).toEqual(hs(1, 3));
    await s.close();
    const r = await WalStorage.open({ dir });
    expect(r.hardState()).toEqual(hs(1, 0)); // a lost commit index is recomputed; term and vote are not lost
    await r.save(hs(1, 2), [], undefined, false);
    await r.save(undefined, [ent(4, 1)]);
    await r.close();
    const r2 = await WalStorage.open({ dir });
    expect(r2.hardState()).toEqual(hs(1, 2));
    expect(r2.lastIndex()).toBe(4);
    await r2.close();
  });

  it("spreads the log over segments and reads them all back", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 300 });
    for (let i = 1; i <= 40; i++) await s.save(hs(1, i - 1), [ent(i, 1)]);
    expect((await segments()).length).toBeGreaterThan(3);
    await s.close();
    const r = await WalStorage.open({ dir, segmentBytes: 300 });
    expect(r.lastIndex()).toBe(40);
    expect(r.hardState()).toEqual(hs(1, 39));
    await r.save(hs(1, 40), [ent(41, 1)]);
    await r.close();
    const r2 = await WalStorage.open({ dir, segmentBytes: 300 });
    expect(r2.lastIndex()).toBe(41);
    await r2.close();
  });

  it("cuts a truncated tail and keeps every earlier batch", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 0), ents(1, 2, 1));
    await s.save(hs(1, 2), ents(3, 4, 1));
    await s.close();
    const [seg] = await segments();
    await truncate(seg!, (await usedBytes(seg!)) - 7);

    const r = await WalStorage.open({ dir });
    expect(r.recovery.truncatedTail?.path).toBe(seg);
    expect(texts(r)).toEqual(["1/1:v1", "2/1:v2"]);
    expect(r.hardState()).toEqual(hs(1, 0));
    // The cut is durable: new batches follow the last valid frame and survive another restart.
    await r.save(hs(2, 2), [ent(3, 2, "again")]);
    await r.close();
    const r2 = await WalStorage.open({ dir });
    expect(r2.recovery.truncatedTail).toBeUndefined();
    expect(texts(r2)).toEqual(["1/1:v1", "2/1:v2", "3/2:again"]);
    await r2.close();
  });

  it("treats a flipped bit in the last batch as a torn tail and cuts it", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 0), ents(1, 2, 1));
    await s.save(hs(1, 1), ents(3, 3, 1));
    await s.close();
    const [seg] = await segments();
    const buf = await readFile(seg!);
    buf[(await usedBytes(seg!)) - 30]! ^= 0x10;
    await writeFile(seg!, buf);
    const r = await WalStorage.open({ dir });
    expect(r.recovery.truncatedTail).toBeDefined();
    expect(texts(r)).toEqual(["1/1:v1", "2/1:v2"]);
    await r.close();
  });

  it("refuses to start on a flipped bit in the middle of the last segment", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 0), ents(1, 2, 1));
    await s.save(hs(1, 1), ents(3, 3, 1));
    await s.save(hs(1, 2), ents(4, 4, 1));
    await s.close();
    const [seg] = await segments();
    const buf = await readFile(seg!);
    // Frame 0 is the segment header (29-byte hard state + 20-byte frame header); flip a bit in frame 1.
    const at = 49 + 30;
    buf[at]! ^= 0x01;
    await writeFile(seg!, buf);
    const err = await expectRefusal(WalErrorCode.Corrupt);
    expect(err.details).toMatchObject({ path: seg, offset: 49 });
    expect(err.message).toContain(seg!);
    expect(err.hint).toMatch(/backup|rejoin/);
  });

  it("refuses to start on damage in an older segment", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 200 });
    for (let i = 1; i <= 20; i++) await s.save(hs(1, 0), [ent(i, 1)]);
    await s.close();
    const segs = await segments();
    expect(segs.length).toBeGreaterThan(2);
    const buf = await readFile(segs[0]!);
    buf[buf.length - 3]! ^= 0x80; // the tail of a segment that is not the last
    await writeFile(segs[0]!, buf);
    const err = await expectRefusal(WalErrorCode.Corrupt);
    expect(err.details.path).toBe(segs[0]);
  });

  it("refuses to start when a segment in the middle is missing", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 200 });
    for (let i = 1; i <= 20; i++) await s.save(hs(1, 0), [ent(i, 1)]);
    await s.close();
    const segs = await segments();
    await rm(segs[1]!);
    const err = await expectRefusal(WalErrorCode.MissingSegment);
    expect(err.message).toContain("segment 1 is missing");
  });

  it("refuses to start when the newest segment is missing", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 200 });
    for (let i = 1; i <= 20; i++) await s.save(hs(1, 0), [ent(i, 1)]);
    await s.close();
    const segs = await segments();
    await rm(segs[segs.length - 1]!);
    const err = await expectRefusal(WalErrorCode.MissingSegment);
    expect(err.message).toContain("wal.meta names segment");
  });

  it("accepts wal.meta lagging one segment behind (a crash during rotation) and repairs it", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 200 });
    for (let i = 1; i <= 20; i++) await s.save(hs(1, 0), [ent(i, 1)]);
    await s.close();
    const segs = await segments();
    await writeFile(join(walDir(), "wal.meta"), JSON.stringify({ lastSegment: segs.length - 2 }));
    const r = await WalStorage.open({ dir, segmentBytes: 200 });
    expect(r.lastIndex()).toBe(20);
    await r.close();
    expect(JSON.parse(await readFile(join(walDir(), "wal.meta"), "utf8"))).toEqual({
      lastSegment: segs.length - 1,
    });
  });

  it("refuses to start when the only snapshot is damaged and the log before it was compacted", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 200, keepSnapshots: 1 });
    for (let i = 1; i <= 30; i++) await s.save(hs(1, i), [ent(i, 1)]);
    await s.createSnapshot(25, { voters: [1], learners: [] }, new Uint8Array([25]));
    await s.close();
    const [snap] = await readdir(join(dir, "snap"));
    const path = join(dir, "snap", snap!);
    const buf = await readFile(path);
    buf[buf.length - 1]! ^= 0x01;
    await writeFile(path, buf);
    const err = await expectRefusal(WalErrorCode.Gap);
    expect(err.details.skippedSnapshots).toEqual([expect.objectContaining({ path })]);
  });

  it("refuses to start when the whole log is gone but snapshots remain", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 3), ents(1, 3, 1));
    await s.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array([7]));
    await s.close();
    await rm(walDir(), { recursive: true });
    await expectRefusal(WalErrorCode.MissingSegment);
  });

  it("survives a crash between write and fsync: a partial frame is cut, a whole one is kept", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 0), ents(1, 2, 1));
    await s.close();
    const [seg] = await segments();
    const clean = await readFile(seg!);
    const used = await usedBytes(seg!);
    expect(clean.length).toBeGreaterThan(used); // preallocated zeros follow the last frame
    // The next frame has sequence 2 (0 = segment header, 1 = the batch above).
    const frame = encodeFrame(2n, encodeBatch(hs(1, 2), ents(3, 4, 1)));
    const crashWith = async (bytes: Buffer) => {
      const buf = Buffer.from(clean);
      bytes.copy(buf, used);
      await writeFile(seg!, buf);
    };
    // A cut inside the frame's trailing zero bytes would leave it whole (the disk holds zeros
    // there anyway), so the last cut drops the frame's last non-zero byte.
    const lastNonZero = frame.findLastIndex((b) => b !== 0);
    for (const cut of [1, 10, 19, 20, 25, lastNonZero]) {
      await crashWith(frame.subarray(0, cut));
      const r = await WalStorage.open({ dir });
      expect(texts(r), `cut at ${cut}`).toEqual(["1/1:v1", "2/1:v2"]);
      expect(r.recovery.truncatedTail).toBeDefined();
      // Writing continues after the last valid frame, and that survives the next restart.
      await r.save(hs(1, 3), [ent(3, 1, "w3")]);
      await r.close();
      const r2 = await WalStorage.open({ dir });
      expect(texts(r2), `cut at ${cut}, after a write`).toEqual(["1/1:v1", "2/1:v2", "3/1:w3"]);
      await r2.close();
    }
    // Nothing of the frame landed (the preallocated zeros are intact): nothing to cut.
    await writeFile(seg!, clean);
    const z = await WalStorage.open({ dir });
    expect(texts(z)).toEqual(["1/1:v1", "2/1:v2"]);
    expect(z.recovery.truncatedTail).toBeUndefined();
    await z.close();
    // The whole frame reached the disk even though fsync never returned: it is valid and used.
    await crashWith(frame);
    const w = await WalStorage.open({ dir });
    expect(w.recovery.truncatedTail).toBeUndefined();
    expect(texts(w)).toEqual(["1/1:v1", "2/1:v2", "3/1:v3", "4/1:v4"]);
    expect(w.hardState()).toEqual(hs(1, 2));
    await w.close();
  });

  it("never returns damaged entries, whatever single byte is damaged", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 400 });
    const written: string[] = [];
    for (let i = 1; i <= 30; i++) {
      await s.save(hs(1, i - 1), [ent(i, 1, `value-${i}`)]);
      written.push(`${i}/1:value-${i}`);
    }
    await s.close();
    const segs = await segments();
    const originals = await Promise.all(segs.map((p) => readFile(p)));
    const rnd = seededRandom(42);
    for (let trial = 0; trial < 60; trial++) {
      const which = rnd.int(segs.length);
      const buf = Buffer.from(originals[which]!);
      const pos = rnd.int(buf.length);
      buf[pos]! ^= 1 << rnd.int(8);
      await writeFile(segs[which]!, buf);
      try {
        const r = await WalStorage.open({ dir, segmentBytes: 400 });
        const got = texts(r);
        // Recovery may only drop a suffix (the damaged last batch), never return altered data.
        expect(written.slice(0, got.length), `trial ${trial}: segment ${which} byte ${pos}`).toEqual(got);
        expect(which, `trial ${trial}: damage in an older segment must refuse`).toBe(segs.length - 1);
        await r.close();
      } catch (err) {
        if (!ShoalError.is(err)) throw err;
        expect(err.code).toMatch(/^RAFT_WAL_/);
      }
      // Restore every file (recovery may have truncated the last one).
      for (let i = 0; i < segs.length; i++) await writeFile(segs[i]!, originals[i]!);
    }
  });

  it("installs a snapshot from the leader, replacing the log, durably", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 2), ents(1, 5, 1));
    const snap = {
      meta: { index: 10, term: 3, confState: { voters: [1, 2], learners: [3] } },
      data: new Uint8Array([1, 2, 3]),
    };
    await s.save(hs(3, 10), [], snap);
    await s.save(undefined, [ent(11, 3)]);
    expect(s.firstIndex()).toBe(11);
    await s.close();
    const r = await WalStorage.open({ dir });
    expect(r.snapshot().meta).toEqual(snap.meta);
    expect([...r.snapshot().data]).toEqual([1, 2, 3]);
    expect(r.firstIndex()).toBe(11);
    expect(r.term(10)).toBe(3);
    expect(texts(r)).toEqual(["11/3:v11"]);
    expect(r.initialState().confState).toEqual({ voters: [1, 2], learners: [3] });
    await r.close();
  });

  it("drops stale entries after a leader's snapshot whose install batch was lost in a crash", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 3), ents(1, 10, 1)); // 4..10 are uncommitted entries of an old leader
    await s.close();
    // The snapshot file reached the disk, the batch recording the install did not.
    await writeSnapshotFile(nodeFileSystem, join(dir, "snap"), {
      meta: { index: 6, term: 2, confState: { voters: [1], learners: [] } },
      data: new Uint8Array([6]),
    });
    const r = await WalStorage.open({ dir });
    expect(r.snapshot().meta.index).toBe(6);
    expect(r.firstIndex()).toBe(7);
    expect(r.lastIndex()).toBe(6); // 7..10 of term 1 cannot follow an entry of term 2
    expect(r.hardState().commit).toBe(6);
    await r.close();
  });

  it("keeps the entries after a local snapshot (the log holds the snapshot's term at its index)", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 8), ents(1, 10, 1));
    await s.createSnapshot(6, { voters: [1], learners: [] }, new Uint8Array([6]));
    await s.close();
    const r = await WalStorage.open({ dir });
    expect(r.firstIndex()).toBe(7);
    expect(r.lastIndex()).toBe(10);
    await r.close();
  });

  it("deletes segments covered by the oldest kept snapshot and restarts from snapshot plus log", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 250, keepSnapshots: 2 });
    for (let i = 1; i <= 30; i++) await s.save(hs(1, i), [ent(i, 1)]);
    const before = (await segments()).length;
    await s.createSnapshot(10, { voters: [1], learners: [] }, new Uint8Array([10]));
    await s.createSnapshot(20, { voters: [1], learners: [] }, new Uint8Array([20]));
    await s.compact(20);
    expect(s.firstIndex()).toBe(21);
    const afterTwo = (await segments()).length;
    expect(afterTwo).toBeLessThan(before);
    await s.createSnapshot(25, { voters: [1], learners: [] }, new Uint8Array([25]));
    expect((await readdir(join(dir, "snap"))).length).toBe(2);
    expect((await segments()).length).toBeLessThan(afterTwo);
    await s.close();

    const r = await WalStorage.open({ dir, segmentBytes: 250 });
    expect(r.snapshot().meta.index).toBe(25);
    expect(r.firstIndex()).toBe(26);
    expect(r.lastIndex()).toBe(30);
    await r.close();

    // The newest snapshot is damaged: the older one plus the kept log rebuild the same state.
    const snaps = (await readdir(join(dir, "snap"))).sort();
    const newest = join(dir, "snap", snaps[snaps.length - 1]!);
    const buf = await readFile(newest);
    buf[buf.length - 1]! ^= 0xff;
    await writeFile(newest, buf);
    const f = await WalStorage.open({ dir, segmentBytes: 250 });
    expect(f.recovery.skippedSnapshots.map((x) => x.path)).toEqual([newest]);
    expect(f.snapshot().meta.index).toBe(20);
    expect(f.lastIndex()).toBe(30);
    expect(f.term(30)).toBe(1);
    await f.close();
  });
});
