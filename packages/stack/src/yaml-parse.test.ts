import { describe, expect, it } from "vitest";
import { Diagnostics, formatIssue } from "./errors.js";
import { parseYaml } from "./yaml-parse.js";

function parse(text: string) {
  const diag = new Diagnostics();
  const r = parseYaml("s.yml", text, diag);
  return { r, errors: diag.errors.map(formatIssue) };
}

describe("parseYaml", () => {
  it("follows docker's go-yaml scalar rules: legacy octal, yes stays a string", () => {
    const { r } = parse(
      "a: 0555\nb: 0o17\nc: yes\nd: on\ne: .5\nf: 010\ng: 0\nh: true\ni: ~\nj: 2001-01-01\n",
    );
    expect(r?.value).toEqual({
      a: 365,
      b: 15,
      c: "yes",
      d: "on",
      e: 0.5,
      f: 8,
      g: 0,
      h: true,
      i: null,
      j: "2001-01-01",
    });
  });

  it("applies merge keys: own keys win, then earlier sources", () => {
    const { r } = parse("x: &a {p: 1, q: 2}\ny: &b {q: 3, r: 4}\nm:\n  <<: [*a, *b]\n  p: 9\n");
    expect((r!.value as Record<string, unknown>).m).toEqual({ p: 9, q: 2, r: 4 });
  });

  it("keeps positions: map entries at their key, list items at the item, merged values at the anchor", () => {
    const { r } = parse("x: &a\n  deep: 1\nservices:\n  web:\n    <<: *a\n    ports:\n      - 80\n");
    expect(r?.positions.get(["services", "web", "ports"])).toEqual({ file: "s.yml", line: 6, col: 5 });
    expect(r?.positions.get(["services", "web", "ports", 0])).toEqual({ file: "s.yml", line: 7, col: 9 });
    expect(r?.positions.get(["services", "web", "deep"])).toEqual({ file: "s.yml", line: 2, col: 3 });
  });

  it("reports duplicate keys and syntax errors with positions", () => {
    expect(parse("a: 1\nb: 2\na: 3\n").errors).toEqual(['s.yml:3:1: duplicate key "a"']);
    expect(parse("a: [1, 2\n").errors[0]).toMatch(/^s\.yml:\d+:\d+: invalid YAML: /);
    expect(parse("a: *nope\n").errors[0]).toMatch(/^s\.yml:1:4: /);
  });

  it("refuses non-string keys as docker does", () => {
    expect(parse("services:\n  1: {image: x}\n").errors).toEqual(["s.yml:2:3: keys must be strings, got 1"]);
  });

  it("treats __proto__ as an ordinary key", () => {
    const { r } = parse("__proto__: {polluted: 1}\n");
    expect(Object.keys(r?.value as object)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
