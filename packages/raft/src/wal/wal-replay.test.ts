import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Entry, HardState } from "../types.js";
import { nodeFileSystem } from "./file-system.js";
import { writeSnapshotFile } from "./snapshot-files.js";
import { WalStorage } from "./wal-storage.js";

// Replay of batches that rewrote the log at or below a snapshot's index (issue 11, defect 1), and
// segments left behind by a power loss during compaction (defect 4).

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-wal-replay-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++)
    out.push({ index: i, term, type: "normal", data: new TextEncoder().encode(`v${i}t${term}`) });
  return out;
}
function hs(term: number, commit: number): HardState {
  return { term, vote: 1, commit };
}
function terms(s: WalStorage): string {
  const out: string[] = [];
  for (let i = s.firstIndex() - 1; i <= s.lastIndex(); i++) out.push(`${i}:${s.term(i)}`);
  return out.join(" ");
}

describe("WalStorage replay below the snapshot", () => {
  it("keeps the truncation of a batch that rewrote the log below a local snapshot", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 2), ents(1, 10, 1));
    await s.save(hs(2, 2), ents(3, 4, 2)); // replaces 3..10: 5..10 of term 1 are gone
    await s.save(hs(2, 6), ents(5, 6, 2));
    await s.createSnapshot(6, { voters: [1], learners: [] }, new Uint8Array([6]));
    const live = terms(s);
    await s.close();

    const r = await WalStorage.open({ dir });
    // Before the fix the log ended at 10 with 7..10 of term 1 after a snapshot of term 2.
    expect(r.lastIndex()).toBe(6);
    expect(r.term(6)).toBe(2);
    expect(terms(r)).toBe(live.slice(live.indexOf("6:")));
    await r.close();
  });

  it("keeps the truncation when a leader's snapshot file landed and its install record was lost", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 2), ents(1, 10, 1));
    await s.save(hs(2, 2), ents(3, 4, 2)); // ends below the snapshot's index 6
    await s.close();
    await writeSnapshotFile(nodeFileSystem, join(dir, "snap"), {
      meta: { index: 6, term: 2, confState: { voters: [1], learners: [] } },
      data: new Uint8Array([6]),
    });
    const r = await WalStorage.open({ dir });
    expect(r.snapshot().meta.index).toBe(6);
    expect(r.lastIndex()).toBe(6);
    await r.close();
  });

  it("keeps later entries that continue the rewritten log past the snapshot", async () => {
    const s = await WalStorage.open({ dir });
    await s.save(hs(1, 2), ents(1, 10, 1));
    await s.save(hs(2, 2), ents(3, 4, 2));
    await s.save(hs(2, 8), ents(5, 9, 2));
    await s.createSnapshot(6, { voters: [1], learners: [] }, new Uint8Array([6]));
    await s.close();
    const r = await WalStorage.open({ dir });
    expect(terms(r)).toBe("6:2 7:2 8:2 9:2");
    await r.close();
  });
});

describe("WalStorage segments covered by the snapshot", () => {
  it("starts when a power loss brought back some of the segments a compaction deleted", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 200, keepSnapshots: 1 });
    for (let i = 1; i <= 40; i++) await s.save(hs(1, i), ents(i, i, 1));
    const all = s.segmentPaths();
    const content = new Map<string, Buffer>();
    for (const p of all) content.set(p, await readFile(p));
    await s.createSnapshot(35, { voters: [1], learners: [] }, new Uint8Array([35]));
    const kept = s.segmentPaths();
    await s.close();
    const deleted = all.filter((p) => !kept.includes(p));
    expect(deleted.length).toBeGreaterThanOrEqual(3);
    // The segments were unlinked with one directory fsync at the end; a power loss before it
    // brought back the first and third but not the second: a gap wholly before the snapshot.
    await writeFile(deleted[0]!, content.get(deleted[0]!)!);
    await writeFile(deleted[2]!, content.get(deleted[2]!)!);

    const r = await WalStorage.open({ dir, segmentBytes: 200 });
    expect(r.snapshot().meta.index).toBe(35);
    expect(r.lastIndex()).toBe(40);
    expect(r.hardState().commit).toBe(40);
    await r.close();
    // The stray segments were removed again.
    const names = (await readdir(join(dir, "wal"))).filter((n) => n.endsWith(".wal"));
    expect(names.length).toBe(kept.length);
  });

  it("still refuses a gap that is not covered by the snapshot", async () => {
    const s = await WalStorage.open({ dir, segmentBytes: 200, keepSnapshots: 1 });
    for (let i = 1; i <= 40; i++) await s.save(hs(1, i), ents(i, i, 1));
    await s.createSnapshot(5, { voters: [1], learners: [] }, new Uint8Array([5]));
    const paths = s.segmentPaths();
    await s.close();
    await rm(paths[paths.length - 2]!);
    await expect(WalStorage.open({ dir, segmentBytes: 200 })).rejects.toMatchObject({
      code: "RAFT_WAL_MISSING_SEGMENT",
    });
  });
});
