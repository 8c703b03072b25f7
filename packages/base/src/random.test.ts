import { describe, expect, it } from "vitest";
import { seededRandom, systemRandom } from "./random.js";

describe("Random", () => {
  it("gives the same sequence for the same seed", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("gives different sequences for nearby seeds", () => {
    expect(seededRandom(1).next()).not.toBe(seededRandom(2).next());
  });

  it("keeps ints in range and covers it", () => {
    const r = seededRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const v = r.intBetween(3, 8);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(8);
      seen.add(v);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7, 8]);
  });

  it("splits into an independent, reproducible stream", () => {
    const parent1 = seededRandom(9);
    const child1 = parent1.split();
    const parent2 = seededRandom(9);
    const child2 = parent2.split();
    expect(child1.next()).toBe(child2.next());
    expect(parent1.next()).toBe(parent2.next());
    expect(child1.next()).not.toBe(parent1.next());
  });

  it("shuffles to a permutation", () => {
    const r = seededRandom(3);
    const items = Array.from({ length: 20 }, (_, i) => i);
    const shuffled = r.shuffle([...items]);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(items);
    expect(shuffled).not.toEqual(items);
  });

  it("refuses empty ranges", () => {
    expect(() => seededRandom(1).int(0)).toThrow("random int range [0, 0) is empty");
    expect(() => seededRandom(1).pick([])).toThrow("cannot pick from an empty list");
  });

  it("seeds from the OS in production", () => {
    expect(systemRandom().next()).not.toBe(systemRandom().next());
  });
});
