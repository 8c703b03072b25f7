import { describe, expect, it } from "vitest";
import { parseCpus } from "./cpus.js";

describe("parseCpus", () => {
  it.each([
    ["0.50", 500_000_000],
    ["2", 2_000_000_000],
    [".25", 250_000_000],
    ["0.0001", 100_000],
    ["1.000000001", 1_000_000_001],
  ])("%s → %d nano-CPUs", (s, nano) => {
    expect(parseCpus(s)).toBe(nano);
  });

  it.each(["half", "", ".", "-1", "1e3", "0.0000000001"])("rejects %j", (s) => {
    expect(parseCpus(s)).toBeUndefined();
  });
});
