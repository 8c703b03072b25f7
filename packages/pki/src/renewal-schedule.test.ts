import { type Random, seededRandom } from "@shoal/base";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { nextRenewalAtMs } from "./renewal-schedule.js";

function fixed(value: number): Random {
  const r = seededRandom(1);
  return { ...r, next: () => value };
}

describe("nextRenewalAtMs", () => {
  const validity = { notBeforeMs: 1_000, notAfterMs: 101_000 };

  it("spans 50 % to 80 % of the lifetime", () => {
    expect(nextRenewalAtMs(validity, fixed(0))).toBe(51_000);
    expect(nextRenewalAtMs(validity, fixed(0.5))).toBe(66_000);
    expect(nextRenewalAtMs(validity, fixed(0.999999))).toBe(80_999);
  });

  it("always falls inside the window, for any certificate and seed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 2 ** 36 }),
        fc.integer(),
        (start, life, seed) => {
          const at = nextRenewalAtMs({ notBeforeMs: start, notAfterMs: start + life }, seededRandom(seed));
          expect(at).toBeGreaterThanOrEqual(start + Math.floor(life * 0.5));
          expect(at).toBeLessThanOrEqual(start + Math.floor(life * 0.8));
        },
      ),
    );
  });

  it("spreads a fleet's renewals over the window", () => {
    const random = seededRandom(7);
    const points = Array.from({ length: 1000 }, () => nextRenewalAtMs(validity, random));
    const early = points.filter((p) => p < 66_000).length;
    expect(early).toBeGreaterThan(400);
    expect(early).toBeLessThan(600);
  });
});
