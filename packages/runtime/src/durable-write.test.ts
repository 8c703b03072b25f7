import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFileDurable } from "./durable-write.js";

describe("writeFileDurable", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-durable-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("replaces the file whole and leaves no temp file beside it", async () => {
    const path = join(dir, "state.json");
    await writeFileDurable(path, "first");
    await writeFileDurable(path, "second");
    expect(await readFile(path, "utf8")).toBe("second");
    expect(await readdir(dir)).toEqual(["state.json"]);
  });

  it("fails without touching the old content when the directory is gone", async () => {
    await expect(writeFileDurable(join(dir, "missing", "x.json"), "x")).rejects.toMatchObject({
      code: "ENOENT",
    });
  });
});
