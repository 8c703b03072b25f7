import { describe, expect, it } from "vitest";
import { type StoreSimMutation, StoreSimulator, storeSimNodesForSeed } from "./sim/store-sim.js";

// The sweep's checks bite: with a deliberate bug in what the harness sees, a few seeds fail with
// the matching violation (sim-sweep.test.ts would otherwise pass vacuously).
const CASES: [StoreSimMutation, RegExp][] = [
  ["dropWatchEvent", /watch|watcher rebuilt/],
  ["repeatWatchEvent", /watch: .* names old version/],
  ["conflictAsAcked", /acknowledged at .*(is lost|is still there|before the read)/],
  ["localReads", /linearizable read missed/],
];

describe("store simulator checks", () => {
  it.each(CASES)("catch %s within 20 seeds", { timeout: 120_000 }, async (broken, pattern) => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 20 && caught === undefined; seed++) {
      const r = await new StoreSimulator({ seed, nodes: storeSimNodesForSeed(seed), broken }).run();
      if (!r.ok) caught = r.violation;
    }
    expect(caught).toMatch(pattern);
  });
});
