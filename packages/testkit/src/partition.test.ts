import { describe, expect, it } from "vitest";
import { renderPartitionRules } from "./partition.js";

describe("renderPartitionRules", () => {
  it("replaces the whole table, empty when nothing is cut", () => {
    expect(renderPartitionRules({ pairs: [], isolated: [] })).toBe(
      [
        "table bridge shoal_testkit",
        "delete table bridge shoal_testkit",
        "table bridge shoal_testkit {",
        "  chain cuts {",
        "    type filter hook forward priority 0; policy accept;",
        "  }",
        "}",
        "",
      ].join("\n"),
    );
  });

  it("drops both directions of a cut pair and all but the gateway port of an isolated host", () => {
    const script = renderPartitionRules({ pairs: [[1, 2]], isolated: [3] });
    expect(
      script
        .split("\n")
        .filter((l) => l.includes("drop"))
        .map((l) => l.trim()),
    ).toEqual([
      'iifname "h1" oifname "h2" drop',
      'iifname "h2" oifname "h1" drop',
      'iifname "h3" oifname != "gw" drop',
      'oifname "h3" iifname != "gw" drop',
    ]);
  });
});
