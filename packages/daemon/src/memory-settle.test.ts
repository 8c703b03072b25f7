import { ManualClock, silentLogger } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { compactingFullGc, eventLoopBusyMeter, MemorySettle } from "./memory-settle.js";

describe("MemorySettle", () => {
  it("runs its rounds of GCs, spaced, once the loop is quiet after start-up, and then waits", async () => {
    const clock = new ManualClock();
    const gcs: number[] = [];
    const ratios = [0.7, 0.01, 0.01];
    const settle = new MemorySettle({
      clock,
      logger: silentLogger(),
      busyRatio: () => ratios.shift() ?? 0.01,
      collect: () => gcs.push(clock.now()),
      options: { sampleMs: 1000, quietSamples: 2, rounds: 3, roundSpacingMs: 500 },
    });
    settle.start();
    clock.advance(10_000);
    // The read at start (0.7) is discarded; a daemon starts as work, quiet at 1 s and 2 s.
    expect(gcs).toEqual([2000, 2500, 3000]);
    settle.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it("stops between rounds", () => {
    const clock = new ManualClock();
    let gcs = 0;
    const settle = new MemorySettle({
      clock,
      logger: silentLogger(),
      busyRatio: () => 0,
      collect: () => {
        gcs++;
      },
      options: { sampleMs: 1000, quietSamples: 1, rounds: 6, roundSpacingMs: 500 },
    });
    settle.start();
    clock.advance(1600);
    settle.stop();
    clock.advance(10_000);
    expect(gcs).toBe(2);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe("compactingFullGc", () => {
  it("collects garbage this process made", async () => {
    const gc = compactingFullGc();
    let target: object | undefined = { big: new Array(100_000).fill(1) };
    const ref = new WeakRef(target);
    target = undefined;
    // A WeakRef's target stays alive until the end of the job that made or read it.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(ref.deref()).toBeUndefined();
  });
});

describe("eventLoopBusyMeter", () => {
  it("reads a ratio between 0 and 1", async () => {
    const meter = eventLoopBusyMeter();
    const t = Date.now();
    while (Date.now() - t < 20) {}
    await new Promise((r) => setTimeout(r, 20));
    const ratio = meter();
    expect(ratio).toBeGreaterThanOrEqual(0);
    expect(ratio).toBeLessThanOrEqual(1);
  });
});
