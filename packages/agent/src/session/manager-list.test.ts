import { seededRandom } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { pickManager } from "./manager-list.js";

const managers = [
  { addr: "a:1", weight: 1 },
  { addr: "b:1", weight: 3 },
  { addr: "c:1", weight: 0 },
];

describe("pickManager", () => {
  it("picks in proportion to the weights", () => {
    const random = seededRandom(11);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 5000; i++) {
      const m = pickManager(managers, random);
      counts[m.addr] = (counts[m.addr] ?? 0) + 1;
    }
    // Expected shares 1/5, 3/5, 1/5 (weight 0 counts as 1).
    expect((counts["b:1"] ?? 0) / 5000).toBeCloseTo(0.6, 1);
    expect((counts["a:1"] ?? 0) / 5000).toBeCloseTo(0.2, 1);
    expect((counts["c:1"] ?? 0) / 5000).toBeCloseTo(0.2, 1);
  });

  it("avoids the manager that just failed unless it is the only one", () => {
    const random = seededRandom(2);
    for (let i = 0; i < 200; i++) expect(pickManager(managers, random, "b:1").addr).not.toBe("b:1");
    expect(pickManager([{ addr: "only:1", weight: 1 }], random, "only:1").addr).toBe("only:1");
  });
});
