import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "./temp-dir.js";

describe("tempDir", () => {
  it("makes a fresh directory under the OS temp dir and removes it with its contents, twice safely", async () => {
    const dir = await tempDir("shoal-testkit-");
    expect(dirname(dir.path)).toBe(tmpdir());
    expect(basename(dir.path)).toMatch(/^shoal-testkit-.{6}$/);
    writeFileSync(join(dir.path, "f"), "x");
    await dir.remove();
    await dir.remove();
    expect(existsSync(dir.path)).toBe(false);
  });
});
