import { describe, expect, it } from "vitest";
import { nodesForSeed, Simulator } from "./sim/simulator.js";

// A test of the checkers: a deliberately broken core must be caught within 2,000 random seeds.
// (The Figure 8 commit bug, which needs a precise interleaving, is caught by the scripted
// scenario in scenarios/figure8.test.ts.)
describe("deliberately broken core", () => {
  it("voting without the log up-to-date check is caught within 2,000 seeds", { timeout: 600_000 }, () => {
    let caughtAt: number | undefined;
    let violation = "";
    for (let seed = 1; seed <= 2000 && caughtAt === undefined; seed++) {
      const r = new Simulator({
        seed,
        nodes: nodesForSeed(seed),
        faults: "all",
        raftConfig: { testingUnsafe: "voteIgnoringLog" },
      }).run();
      if (!r.ok) {
        caughtAt = seed;
        violation = r.violation ?? "";
      }
    }
    expect(caughtAt, "the broken core survived 2,000 seeds: the checkers are blind").toBeDefined();
    expect(violation).toMatch(
      /leader completeness|state machine safety|log matching|committed is durable|linearizability/,
    );
  });
});
