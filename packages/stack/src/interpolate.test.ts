// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Compose variable references, not templates
import { describe, expect, it } from "vitest";
import { substitute } from "./interpolate.js";

const env: Record<string, string> = { FOO: "foo", EMPTY: "", HOME: "/home/me" };
const lookup = (k: string) => env[k];
const sub = (t: string) => {
  const r = substitute(t, lookup);
  return r.ok ? r.value : `ERR ${r.message}`;
};

describe("substitute", () => {
  it.each([
    ["$FOO", "foo"],
    ["${FOO}", "foo"],
    ["x${FOO}y", "xfooy"],
    ["$FOO-bar", "foo-bar"],
    ["${MISSING}", ""],
    ["${MISSING:-def}", "def"],
    ["${EMPTY:-def}", "def"],
    ["${EMPTY-def}", ""],
    ["${MISSING-def}", "def"],
    ["${FOO:-def}", "foo"],
    ["$$FOO", "$FOO"],
    ["$${FOO}", "${FOO}"],
    ["a $$ b", "a $ b"],
    ["${REGISTRY-127.0.0.1:5000}/x", "127.0.0.1:5000/x"],
    ["${PW:-$2y$05$abc}", "$2y$05$abc"],
    ['${L:-{{ index .Service.Labels "a"}}}', '{{ index .Service.Labels "a"}}'],
    ["{{.Task.Slot}}", "{{.Task.Slot}}"],
  ])("%s → %s", (input, expected) => {
    expect(sub(input)).toBe(expected);
  });

  it("fails on required variables with their message", () => {
    expect(sub("${DOMAIN?Variable not set}")).toBe("ERR variable DOMAIN is required: Variable not set");
    expect(sub("${EMPTY:?must not be empty}")).toBe("ERR variable EMPTY is required: must not be empty");
    expect(sub("${EMPTY?set}")).toBe("");
    expect(sub("${MISSING:?}")).toBe("ERR variable MISSING is required");
  });

  it("rejects malformed references", () => {
    expect(sub("$(date)")).toMatch(
      /^ERR invalid variable reference in "\$\(date\)": use \$\$ for a literal \$/,
    );
    expect(sub("${FOO")).toMatch(/^ERR invalid variable reference/);
    expect(sub("${1X}")).toMatch(/^ERR invalid variable reference/);
    expect(sub("${A:+x}")).toMatch(/^ERR invalid variable reference/);
    expect(sub("cost: 5$")).toMatch(/^ERR invalid variable reference/);
  });

  it("reports unset plain variables", () => {
    const r = substitute("${A}-$B-${FOO}", lookup);
    expect(r).toEqual({ ok: true, value: "--foo", unset: ["A", "B"] });
  });
});
