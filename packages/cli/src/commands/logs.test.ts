import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { eventFilters, parseTimeFlag } from "./logs.js";

const NOW = Date.parse("2026-12-04T12:00:00Z");

describe("--since / --until", () => {
  it.each([
    ["", 0],
    ["10m", NOW - 600_000],
    ["1h30m", NOW - 5_400_000],
    ["2d", NOW - 172_800_000],
    ["1733313600", 1_733_313_600_000],
    ["1733313600.5", 1_733_313_600_500],
    ["2026-12-04T11:00:00Z", NOW - 3_600_000],
  ])("%j is %d", (value, ms) => {
    expect(parseTimeFlag("--since", value, NOW)).toBe(ms);
  });

  it("names the flag and the value it cannot read", () => {
    expect(() => parseTimeFlag("--until", "yesterday", NOW)).toThrow(/--until "yesterday" is not a time/);
  });
});

describe("events filters (docker's --filter key=value)", () => {
  const none = { filter: [] as string[] };

  it("takes type, service and node from --filter and from the shorthand flags", () => {
    expect(eventFilters(none)).toEqual({ type: "", service: "", node: "" });
    expect(eventFilters({ filter: ["type=task", "service=web", "node=host2"] })).toEqual({
      type: "task",
      service: "web",
      node: "host2",
    });
    expect(eventFilters({ filter: ["node=a=b"], type: "node" })).toEqual({
      type: "node",
      service: "",
      node: "a=b",
    });
  });

  it.each([
    [{ filter: ["type"] }, /--filter "type" is not a filter/],
    [{ filter: ["type="] }, /--filter "type=" is not a filter/],
    [{ filter: ["=web"] }, /--filter "=web" is not a filter/],
    [{ filter: ["label=x=y"] }, /--filter "label=x=y" is not a filter/],
    [{ filter: ["type=task", "type=node"] }, /--filter type=node: the type filter is given twice/],
    [{ filter: ["service=web"], service: "api" }, /--filter service=web: the service filter is given twice/],
  ])("refuses %j", (flags, message) => {
    let caught: unknown;
    try {
      eventFilters(flags);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ShoalError);
    expect(String((caught as Error).message)).toMatch(message);
  });
});
