import { ManualClock } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { withLongTimers } from "./long-timer-clock.js";

describe("withLongTimers", () => {
  it("fires a 50-day timer after 50 days, not at the first 2^31 ms", () => {
    const base = new ManualClock();
    const clock = withLongTimers(base);
    let fired = 0;
    const day = 24 * 3600 * 1000;
    clock.setTimeout(() => fired++, 50 * day);
    base.advance(2 ** 31);
    expect(fired).toBe(0);
    base.advance(50 * day - 2 ** 31 - 1);
    expect(fired).toBe(0);
    base.advance(1);
    expect(fired).toBe(1);
  });

  it("cancels a long timer between its links", () => {
    const base = new ManualClock();
    const clock = withLongTimers(base);
    let fired = 0;
    const h = clock.setTimeout(() => fired++, 2 ** 33);
    base.advance(2 ** 31);
    clock.clearTimeout(h);
    base.advance(2 ** 33);
    expect(fired).toBe(0);
  });
});
