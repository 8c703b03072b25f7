// proto:check is the guard that keeps src/gen in step with proto/. These tests run the real
// script (buf + ts-proto) against the real tree and against an edited copy of it.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const packageDir = resolve(import.meta.dirname, "..");
const rootDir = resolve(packageDir, "../..");
const tsx = join(rootDir, "node_modules/.bin/tsx");
const script = join(packageDir, "scripts/proto.ts");
const temps: string[] = [];

function runCheck(protoDir: string) {
  const result = spawnSync(tsx, [script, "check", "--proto-dir", protoDir], {
    cwd: packageDir,
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe("proto:check", () => {
  it("passes on the committed tree", () => {
    const result = runCheck(join(rootDir, "proto"));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("proto:check ok");
  });

  it("fails, naming the drifted file, when a .proto changes without regeneration", () => {
    const copy = mkdtempSync(join(tmpdir(), "shoal-proto-check-"));
    temps.push(copy);
    cpSync(join(rootDir, "proto"), copy, { recursive: true });
    const file = join(copy, "shoal/v1/logs.proto");
    const edited = readFileSync(file, "utf8").replace(
      "message LogContext {\n",
      "message LogContext {\n  string stack_name = 99;\n",
    );
    writeFileSync(file, edited);

    const result = runCheck(copy);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("shoal/v1/logs.ts (differs)");
    expect(result.stderr).not.toContain("objects.ts");
    expect(result.stderr).toContain("run npm run proto");
  });

  it("fails when a .proto breaks the lint rules", () => {
    const copy = mkdtempSync(join(tmpdir(), "shoal-proto-lint-"));
    temps.push(copy);
    cpSync(join(rootDir, "proto"), copy, { recursive: true });
    const file = join(copy, "shoal/v1/logs.proto");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "message LogContext {\n",
        "message LogContext {\n  string StackName = 99;\n",
      ),
    );

    const result = runCheck(copy);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("StackName");
    expect(result.stderr).toContain("buf lint found problems");
  });
});
