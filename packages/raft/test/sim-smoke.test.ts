import { describe, expect, it } from "vitest";
import { type FaultLevel, replayCommand, Simulator } from "./sim/simulator.js";

// A quick pass over each fault level; the long sweep lives in sim-sweep.test.ts.
describe("simulator smoke", () => {
  for (const faults of ["none", "net", "crash", "all"] as FaultLevel[]) {
    it(`keeps every safety property and linearizability with faults "${faults}" (20 seeds)`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const nodes = seed % 2 === 0 ? 3 : 5;
        const r = new Simulator({ seed, nodes, faults }).run();
        expect(r.ok, `${r.violation}\nreplay: ${replayCommand(seed, nodes, faults)}`).toBe(true);
      }
    });
  }
});
