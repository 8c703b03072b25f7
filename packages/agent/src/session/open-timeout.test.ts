import { describe, expect, it } from "vitest";
import { sessionOpenTimeoutMs } from "./open-timeout.js";

const fixed = (v: number) => ({ next: () => v });

describe("the session open timeout", () => {
  it.each([
    [0, 0, 10_000],
    [1, 0, 20_000],
    [2, 0, 40_000],
    [9, 0, 40_000],
    [0, 0.999_999, 12_000],
    [2, 0.5, 44_000],
  ])("after %d failures (random %d) is %d ms", (failures, r, ms) => {
    expect(sessionOpenTimeoutMs(10_000, failures, fixed(r))).toBe(ms);
  });
});
