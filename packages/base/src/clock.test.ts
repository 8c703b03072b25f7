import { describe, expect, it } from "vitest";
import { ManualClock, SystemClock, systemClock } from "./clock.js";

describe("ManualClock", () => {
  it("never moves backwards and treats a NaN delay as 0", () => {
    const clock = new ManualClock(1000);
    expect(() => clock.advance(-1)).toThrow(
      "manual clock advance of -1 ms is not a finite amount of at least 0",
    );
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    let firedAt = -1;
    clock.setTimeout(() => {
      firedAt = clock.now();
    }, Number.NaN);
    clock.advance(0);
    expect(firedAt).toBe(1000);
    expect(clock.now()).toBe(1000);
  });

  it("fires timers in due order, each at its due time", () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    clock.advance(15);
    expect(fired).toEqual(["a@1010"]);
    clock.advance(100);
    expect(fired).toEqual(["a@1010", "b@1020", "c@1020"]);
    expect(clock.now()).toBe(1115);
  });

  it("fires timers set by timers within the same advance", () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    expect(fired).toEqual([5, 10]);
  });

  it("cancels timers", () => {
    const clock = new ManualClock();
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, 5);
    clock.clearTimeout(h);
    clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("resolves sleeps on advance and rejects them on abort", async () => {
    const clock = new ManualClock();
    let done = false;
    const p = clock.sleep(50).then(() => {
      done = true;
    });
    await clock.advanceAsync(49);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await p;
    expect(done).toBe(true);

    const ac = new AbortController();
    const aborted = clock.sleep(50, ac.signal);
    ac.abort(new Error("stopped"));
    await expect(aborted).rejects.toThrow("stopped");
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe("systemClock", () => {
  it("sleeps for real", async () => {
    const start = Date.now();
    await systemClock.sleep(20);
    expect(Date.now() - start).toBeGreaterThanOrEqual(15);
  });
});

describe("SystemClock", () => {
  it("waits out a delay longer than the timers' limit in steps instead of firing at once", async () => {
    // Node fires a timer above 2^31-1 ms at once; the clock splits such delays. Scaled down here.
    const clock = new SystemClock(10);
    const started = Date.now();
    const firedAt = await new Promise<number>((resolve) => clock.setTimeout(() => resolve(Date.now()), 45));
    expect(firedAt - started).toBeGreaterThanOrEqual(44);
  });

  it("cancels a long timer between its steps", async () => {
    const clock = new SystemClock(5);
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, 30);
    await new Promise((r) => setTimeout(r, 12));
    clock.clearTimeout(h);
    await new Promise((r) => setTimeout(r, 40));
    expect(fired).toBe(false);
  });
});
