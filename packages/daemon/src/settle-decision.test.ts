import { describe, expect, it } from "vitest";
import { initialSettleState, type SettleState, stepSettle } from "./settle-decision.js";

const OPTIONS = { busyRatio: 0.1, quietSamples: 2, cooldownMs: 60_000 };

/** Feeds samples one second apart from `startMs`; returns the times at which it settled. */
function run(samples: number[], state: SettleState = initialSettleState, startMs = 0): number[] {
  const settled: number[] = [];
  let s = state;
  samples.forEach((ratio, i) => {
    const step = stepSettle(s, ratio, startMs + i * 1000, OPTIONS);
    s = step.state;
    if (step.settle) settled.push(startMs + i * 1000);
  });
  return settled;
}

describe("stepSettle", () => {
  it("settles after start-up once the loop has been quiet for the quiet samples", () => {
    expect(run([0.9, 0.5, 0.02, 0.01, 0.01])).toEqual([3000]);
  });

  it("does not settle again while nothing works", () => {
    expect(run(Array.from({ length: 200 }, () => 0.01))).toEqual([1000]);
  });

  it("settles after a later burst of work, no sooner than the cooldown after the last", () => {
    const quiet = (n: number) => Array.from({ length: n }, () => 0.01);
    // Settles at 1 s; a burst at 10 s is quiet again at 12 s, but waits for 61 s.
    const samples = [...quiet(10), 0.8, ...quiet(70)];
    expect(run(samples)).toEqual([1000, 61_000]);
  });

  it("a busy sample restarts the count of quiet ones", () => {
    expect(run([0.01, 0.5, 0.01, 0.5, 0.01, 0.01])).toEqual([5000]);
  });
});
