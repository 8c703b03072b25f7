import { appendFile, mkdtemp, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readChunk } from "./log-tail.js";

const rec = (n: number, tag = "F") =>
  `2026-01-01T00:00:00.${String(n).padStart(9, "0")}Z stdout ${tag} l${n}\n`;

describe("readChunk over the runtime's rotated log files", () => {
  let dir: string;
  let log: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-bus-tail-"));
    log = join(dir, "ctr.log");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("stays in a rotated file until the new live one has data, then moves on", async () => {
    await writeFile(log, rec(1));
    const first = await readChunk(log, undefined, 1 << 16);
    expect(first?.lines.map((l) => l.text)).toEqual(["l1"]);
    const ino = (await stat(log)).ino;
    await rename(log, `${log}.1`);
    await writeFile(log, "");
    await appendFile(`${log}.1`, rec(2)); // conmon has not reopened yet
    const second = await readChunk(log, { ino, offset: first?.end ?? 0 }, 1 << 16);
    expect(second?.lines.map((l) => l.text)).toEqual(["l2"]);
    expect(second?.ino).toBe(ino);
    expect(await readChunk(log, { ino, offset: second?.end ?? 0 }, 1 << 16)).toBeUndefined();
    await appendFile(log, rec(3));
    const third = await readChunk(log, { ino, offset: second?.end ?? 0 }, 1 << 16);
    expect(third?.lines.map((l) => l.text)).toEqual(["l3"]);
    expect(third?.ino).toBe((await stat(log)).ino);
  });

  it("never ends a chunk inside a line of partial records", async () => {
    await writeFile(log, rec(1) + rec(2, "P") + rec(3));
    // Room for the first record and the partial piece only: the chunk stops after the first.
    const c = await readChunk(log, undefined, rec(1).length + rec(2, "P").length + 5);
    expect(c?.lines.map((l) => l.text)).toEqual(["l1"]);
    const rest = await readChunk(log, { ino: c?.ino ?? 0, offset: c?.end ?? 0 }, 1 << 16);
    expect(rest?.lines.map((l) => l.text)).toEqual(["l2l3"]);
  });

  it("says when its position was rotated away and deleted, and goes on at the oldest file", async () => {
    await writeFile(log, rec(1));
    const ino = (await stat(log)).ino;
    await rename(log, `${log}.1`);
    await writeFile(log, rec(2));
    await rename(log, `${log}.2`);
    await writeFile(log, rec(3));
    await unlink(`${log}.1`);
    const c = await readChunk(log, { ino, offset: 0 }, 1 << 16);
    expect(c?.skipped).toBe(true);
    expect(c?.lines.map((l) => l.text)).toEqual(["l2"]);
  });
});
