import { describe, expect, it } from "vitest";
import { StoreSimulator, storeSimNodesForSeed, storeSimReplayCommand } from "./sim/store-sim.js";

// The store on the raft production-driver simulator (test/sim/store-sim.ts): real ReplicatedStore
// members on fault-injecting disks with every fault at once. After healing, each seed must show
// equal stateHash() on every member, every acknowledged transaction in the state, no write of a
// transaction reported as conflicting or dropped, and every watcher having seen every committed
// change exactly once in order (or been closed with STORE_WATCH_LAGGED and resynced). A failing
// seed prints the one command that replays it. Larger sweeps by hand: `npm run sim -w @shoal/store`.
const PARTS = 3;
const SEEDS_PER_PART = 100;

describe("store simulator sweep", () => {
  for (let part = 0; part < PARTS; part++) {
    const from = 1 + part * SEEDS_PER_PART;
    const to = from + SEEDS_PER_PART - 1;
    it(`passes seeds ${from}-${to} with crash, disk and network faults`, { timeout: 600_000 }, async () => {
      let acked = 0;
      let rejected = 0;
      let resyncs = 0;
      for (let seed = from; seed <= to; seed++) {
        const nodes = storeSimNodesForSeed(seed);
        const r = await new StoreSimulator({ seed, nodes }).run();
        if (!r.ok)
          expect.fail(
            `seed ${seed} (${nodes} nodes): ${r.violation}\nreplay: ${storeSimReplayCommand(seed, nodes)}`,
          );
        acked += r.acked;
        rejected += r.rejected;
        resyncs += r.resyncs;
      }
      // The workload must really conflict and the watchers really lag now and then.
      expect(acked).toBeGreaterThan(SEEDS_PER_PART);
      expect(rejected).toBeGreaterThan(SEEDS_PER_PART / 2);
      expect(resyncs).toBeGreaterThan(0);
    });
  }
});

describe("store simulator determinism", () => {
  it("replays a seed exactly", { timeout: 120_000 }, async () => {
    const run = async () => {
      const sim = new StoreSimulator({ seed: 7, nodes: 3 });
      const r = await sim.run();
      const ops = sim.history.ops.map(
        (o) => `${o.token}:${o.kind}:${o.ids}:${o.status}:${o.code}:${o.index}`,
      );
      return { r, ops, now: sim.queue.now };
    };
    const a = await run();
    expect(await run()).toEqual(a);
    expect(a.r.ok).toBe(true);
  });
});
