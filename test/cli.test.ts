import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("..", import.meta.url));
const builtCli = `${repo}packages/cli/dist/shoal.js`;

// The shipped command, as a user runs it after `npm run build`: the bundle bin/shoal.js runs.
describe("the built shoal command", () => {
  it("exists (run `npm run build` first)", () => {
    expect(existsSync(builtCli), `${builtCli} is missing: run "npm run build" before the e2e tests`).toBe(
      true,
    );
  });

  it("runs through npx and prints its version", async () => {
    const { stdout } = await run("npx", ["--no-install", "shoal", "--version"], { cwd: repo });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("exits 4 with an error and a hint for an image file that does not exist", async () => {
    const err = await run("node", [builtCli, "image", "import", "/nonexistent/image.tar"]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 4 });
    expect((err as { stderr: string }).stderr).toContain('error: cannot read "/nonexistent/image.tar"');
    expect((err as { stderr: string }).stderr).toContain("hint: ");
  });
});
