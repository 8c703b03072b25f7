import { describe, expect, it } from "vitest";
import { type FaultLevel, nodesForSeed, replayCommand, Simulator } from "./sim/simulator.js";

// The CI sweep: thousands of seeds, each a full randomized run (KV clients, nemesis, checks after
// every persisted Ready and applied entry, linearizability at the end): 6,000 seeds, about
// 2-3 minutes on the shared 2-core machine.
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
  for (let part = 0; part < 5; part++) {
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
