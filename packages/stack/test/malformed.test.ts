import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { loadStackFiles, planStackFiles, type StackIssue } from "../src/index.js";
import { readTestdata, TESTDATA } from "./helpers.js";

const BAD = join(TESTDATA, "bad");
/** File → the exact message (`{dir}` stands for the folder the file is in). */
const EXPECTED = JSON.parse(readTestdata("bad", "expected.json")) as Record<string, string>;

describe("malformed stack files", () => {
  it("covers at least 20 files, each with an expected message", () => {
    const files = readdirSync(BAD).filter((f) => f.endsWith(".yml"));
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(Object.keys(EXPECTED).sort()).toEqual(files.sort());
  });

  for (const [file, message] of Object.entries(EXPECTED)) {
    it(`${file}: ${message.split("\n")[0]}`, () => {
      let thrown: unknown;
      try {
        // What `shoal stack config` runs: load, convert, check against the manager's rules.
        planStackFiles([file], "t", { cwd: BAD, env: {} });
      } catch (err) {
        thrown = err;
      }
      expect(ShoalError.is(thrown)).toBe(true);
      const err = thrown as ShoalError;
      expect(err.message).toBe(message.replaceAll("{dir}", BAD));
      // Every problem names its file, line and column.
      const issues = err.details.errors as StackIssue[];
      expect(issues.length).toBeGreaterThan(0);
      for (const i of issues)
        expect(i.pos).toMatchObject({ file, line: expect.any(Number), col: expect.any(Number) });
    });
  }

  it("reports problems from several files together, each with its own file", () => {
    expect(() =>
      loadStackFiles(["wrong-type-replicas.yml", "unknown-service-key.yml"], { cwd: BAD, env: {} }),
    ).toThrow(
      [
        "2 problems in the stack files:",
        '  wrong-type-replicas.yml:6:7: services.web.deploy.replicas: must be a number, got "three"',
        '  unknown-service-key.yml:4:5: services.web: unknown key "imagee" (did you mean "image"?)',
      ].join("\n"),
    );
  });

  it("names a stack file that cannot be read", () => {
    expect(() => loadStackFiles(["nope.yml"], { cwd: BAD, env: {} })).toThrow(
      "nope.yml: cannot read the stack file (missing or not a file)",
    );
  });
});
