import { describe, expect, it } from "vitest";
import { PLANNED_GROUPS } from "./commands/groups.js";
import { cliVersion } from "./program.js";
import { runCaptured } from "./test-support.js";

const run = (...argv: string[]) => runCaptured(argv);

describe("shoal", () => {
  it("prints its version", async () => {
    const r = await run("--version");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(cliVersion());
    expect(cliVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("lists every command group of the design in --help", async () => {
    const r = await run("--help");
    expect(r.code).toBe(0);
    for (const group of [...PLANNED_GROUPS.map((g) => g.name), "stack", "image"]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${group}\\b`, "m"));
    }
    expect(r.stdout).toContain("--format <format>");
    expect(r.stdout).toContain("--debug");
  });

  it("image import of a path that does not exist: CLI_NOT_FOUND, exit 4, before any call", async () => {
    const r = await run("image", "import", "/nonexistent/shoal-image.tar");
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: cannot read "\/nonexistent\/shoal-image.tar"/);
    expect(r.stderr).toContain("hint: give the path of an OCI layout or an image tar on this node");
    expect(r.stdout).toBe("");
  });

  it("reports usage errors with exit code 2", async () => {
    const r = await run("--bogus");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: unknown option '--bogus'\nhint: run 'shoal --help' for usage\n");
  });

  it("suggests the command the user meant", async () => {
    const r = await run("clustr");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown command 'clustr'");
    expect(r.stderr).toContain("Did you mean cluster?");
  });

  it("rejects an unknown output format", async () => {
    const r = await run("--format", "xml", "node", "ls");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: option '--format <format>' argument 'xml' is invalid");
  });

  it("shows stack traces only with --debug", async () => {
    const plain = await run("image", "ls");
    expect(plain.stderr).not.toContain("    at ");
    const debug = await run("--debug", "image", "ls");
    expect(debug.stderr).toContain("    at ");
  });
});
