// Restart: a member whose WAL holds 100,000 committed 256-byte entries (no snapshot) restarts —
// WAL replay with CRC checks, then RaftNode re-applies every committed entry. Timed from
// WalStorage.open to the last entry applied. One member, in process (no network involved).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reportFigure } from "@shoal/base";
import { RaftNode } from "../src/node/raft-node.js";
import { LocalNetwork } from "../src/transport/local-network.js";
import type { Entry } from "../src/types.js";
import { WalStorage } from "../src/wal/wal-storage.js";

const ENTRIES = 100_000;
const BATCH = 500;

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-raft-restart-"));
  try {
    const w = await WalStorage.open({ dir, bootstrapVoters: [1] });
    const first = w.lastIndex() + 1;
    const data = new Uint8Array(256).fill(1);
    for (let i = 0; i < ENTRIES; i += BATCH) {
      const entries: Entry[] = [];
      for (let j = 0; j < BATCH; j++) entries.push({ index: first + i + j, term: 2, type: "normal", data });
      const last = first + i + BATCH - 1;
      await w.save({ term: 2, vote: 1, commit: last }, entries);
    }
    const lastIndex = w.lastIndex();
    await w.close();

    const t0 = performance.now();
    const storage = await WalStorage.open({ dir });
    let applied = 0;
    const node = new RaftNode({
      id: 1,
      storage,
      transport: new LocalNetwork().transport(1),
      apply: () => {
        applied++;
      },
      snapshotEntries: 0,
    });
    const running = node.run();
    while (node.applied < lastIndex) await new Promise((r) => setTimeout(r, 1));
    const elapsedS = (performance.now() - t0) / 1000;
    await node.stop();
    await running;
    await storage.close();
    if (applied < ENTRIES) throw new Error(`restart applied ${applied} entries, expected ${ENTRIES}`);
    reportFigure("raft_restart_s_100k_entries", elapsedS, "s");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
