import { describe, expect, it } from "vitest";
import { type FaultLevel, nodesForSeed, replayCommand, Simulator } from "./sim/simulator.js";

// The core's CI sweep: thousands of seeds, each a full randomized run of the core over
// MemoryStorage (KV clients, nemesis, checks after every persisted Ready and applied entry,
// linearizability at the end): 4,000 seeds. It runs beside the production-driver sweep
// (prod-sweep.test.ts), which is why it was cut from 6,000.
// Failures print the seed and the one command that replays it.
function sweep(faults: FaultLevel, from: number, count: number): number {
  let passed = 0;
  for (let seed = from; seed < from + count; seed++) {
    const nodes = nodesForSeed(seed);
    const r = new Simulator({ seed, nodes, faults }).run();
    if (!r.ok) {
      expect.fail(
        `seed ${seed} (${nodes} nodes, faults ${faults}): ${r.violation}\nreplay: ${replayCommand(seed, nodes, faults)}`,
      );
    }
    passed++;
  }
  return passed;
}

describe("simulator sweep", () => {
  for (let part = 0; part < 3; part++) {
    const from = 1 + part * 1000;
    it(`passes seeds ${from}-${from + 999} with all faults`, { timeout: 600_000 }, () => {
      expect(sweep("all", from, 1000)).toBe(1000);
    });
  }
  it("passes 500 seeds with network faults only", { timeout: 600_000 }, () => {
    expect(sweep("net", 100_001, 500)).toBe(500);
  });
  it("passes 500 seeds with crash and disk faults only", { timeout: 600_000 }, () => {
    expect(sweep("crash", 200_001, 500)).toBe(500);
  });
});
