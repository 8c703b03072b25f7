import { seededRandom } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS } from "./backoff.js";
import { isPermanentCode } from "./error-class.js";

describe("backoffDelayMs", () => {
  it("grows from 100 ms to 8 s, randomized within the upper half of each step", () => {
    const random = seededRandom(7);
    for (let attempt = 0; attempt < 12; attempt++) {
      const step = Math.min(DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelayMs(attempt, random);
        expect(d).toBeGreaterThanOrEqual(step / 2);
        expect(d).toBeLessThanOrEqual(step);
      }
    }
  });

  it("spreads agents that fail together", () => {
    const random = seededRandom(1);
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelayMs(6, random)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe("isPermanentCode", () => {
  it.each([
    ["IMAGE_NOT_FOUND_IN_REGISTRY", true],
    ["IMAGE_INVALID_REFERENCE", true],
    ["IMAGE_NOT_FOUND", false],
    ["CONTAINER_INVALID_SPEC", true],
    ["AGENT_TEMPLATE_UNKNOWN_FIELD", true],
    ["IMAGE_REGISTRY_UNREACHABLE", false],
    ["CONTAINER_COMMAND_FAILED", false],
    ["ENOSPC", false],
    [undefined, false],
  ])("%s → %s", (code, permanent) => {
    expect(isPermanentCode(code)).toBe(permanent);
  });
});
