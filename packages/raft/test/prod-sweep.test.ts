import { describe, expect, it } from "vitest";
import { ProdSimulator, prodNodesForSeed, prodReplayCommand } from "./sim/prod-simulator.js";

// The production-driver sweep: every node a real RaftNode over a real WalStorage on a
// fault-injecting disk, with every fault at once (message loss, delay, duplication, reordering,
// slow links, partitions, leader isolation, transfers, process pauses, tick drift, disk latency up
// to 40 ms, crashes at fsyncs and right after votes and acks, power losses, membership churn).
// Each seed must keep every safety property and linearizability, complete reads and writes, and
// after healing commit a new write everywhere and serve a read at a brand-new leader.
// Failures print the seed and the one command that replays it.
async function sweep(from: number, count: number): Promise<number> {
  let passed = 0;
  for (let seed = from; seed < from + count; seed++) {
    const nodes = prodNodesForSeed(seed);
    const r = await new ProdSimulator({ seed, nodes }).run();
    if (!r.ok)
      expect.fail(`seed ${seed} (${nodes} nodes): ${r.violation}\nreplay: ${prodReplayCommand(seed, nodes)}`);
    passed++;
  }
  return passed;
}

describe("production-driver simulator sweep", () => {
  for (let part = 0; part < 4; part++) {
    const from = 1 + part * 250;
    it(`passes seeds ${from}-${from + 249} with all faults`, { timeout: 900_000 }, async () => {
      expect(await sweep(from, 250)).toBe(250);
    });
  }
});

// Seeds the by-hand sweep failed, kept as regressions. 1,010,830: a learner added after the
// leader's newest snapshot refused that snapshot (its configuration lacks the learner) and, the
// log being compacted, never caught up until RaftNode took a fresh snapshot for it. 1,007,562 (the
// leader-progress check): a joining member died before fsyncing the parents of the directories
// it had made, its next incarnation acknowledged entries, and a power loss took them all away.
describe("production-driver simulator regressions", () => {
  for (const seed of [1_007_562, 1_008_040, 1_010_830]) {
    it(`passes by-hand seed ${seed}`, { timeout: 120_000 }, async () => {
      const r = await new ProdSimulator({ seed, nodes: 3 }).run();
      expect(r.violation, `replay: ${prodReplayCommand(seed, 3)}`).toBeUndefined();
      expect(r.ok).toBe(true);
    });
  }
});

describe("production-driver simulator determinism", () => {
  it("replays a seed exactly (same history, same outcome)", { timeout: 120_000 }, async () => {
    const run = async () => {
      const sim = new ProdSimulator({ seed: 42, nodes: 3 });
      const r = await sim.run();
      return { r, history: JSON.stringify(sim.clients.history), now: sim.queue.now };
    };
    const a = await run();
    const b = await run();
    expect(b).toEqual(a);
    expect(a.r.ok).toBe(true);
  });
});
