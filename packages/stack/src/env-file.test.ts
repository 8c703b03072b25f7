import { describe, expect, it } from "vitest";
import { parseDotEnv, parseEnvFile } from "./env-file.js";

describe("env_file (docker's rules)", () => {
  it("takes values literally, skips comments, and fills bare names from the environment", () => {
    const r = parseEnvFile("# c\nA=1\n  B = 2\nC='q'\nD\nE\n\nF=\n", (k) =>
      k === "D" ? "from-env" : undefined,
    );
    // A name with whitespace is refused, as docker does.
    expect(r.problems).toEqual([{ line: 3, message: 'variable name "B " contains whitespace' }]);
    expect(r.vars).toEqual([
      ["A", "1"],
      ["C", "'q'"],
      ["D", "from-env"],
      ["E", null],
      ["F", ""],
    ]);
  });
});

describe(".env beside the stack file (compose's rules)", () => {
  it("reads export, quotes and comments", () => {
    const r = parseDotEnv("export A=1\nB=\"x\\ny\" \nC='$lit'\nD=val # comment\n# skip\nE=\n");
    expect(r.problems).toEqual([]);
    expect([...r.vars]).toEqual([
      ["A", "1"],
      ["B", "x\ny"],
      ["C", "$lit"],
      ["D", "val"],
      ["E", ""],
    ]);
  });

  it("reports lines it cannot read", () => {
    expect(parseDotEnv("ok=1\nnot a var\n").problems).toEqual([
      { line: 2, message: 'expected KEY=VALUE, got "not a var"' },
    ]);
  });
});
