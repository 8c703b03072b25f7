import { appendFile, link, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "@shoal/base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLogs, syncLogLinks } from "./log-files.js";
import type { LogEntry } from "./types.js";

let dir: string;
let log: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-logfiles-"));
  log = join(dir, "ctr.log");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = (n: number) => `2026-01-01T00:00:${String(n).padStart(2, "0")}.000000000Z stdout F line-${n}\n`;

/** What conmon does at --log-size-max: write a fresh file next to the log and rename it over. */
async function conmonRotate(): Promise<void> {
  await writeFile(`${log}.tmp`, "");
  await rename(`${log}.tmp`, log);
}

async function read(opts = {}): Promise<string[]> {
  const out: LogEntry[] = [];
  const deps = { clock: new ManualClock(), hasExited: async () => true, pollMs: 1, maxFiles: 3 };
  for await (const e of readLogs(log, opts, deps)) out.push(e);
  return out.map((e) => e.log);
}

describe("log generations", () => {
  it("keeps replaced files as generations and prunes beyond maxFiles", async () => {
    await writeFile(log, line(0));
    await syncLogLinks(log, 3);
    for (let gen = 1; gen <= 4; gen++) {
      await conmonRotate();
      await appendFile(log, line(gen));
      await syncLogLinks(log, 3);
    }
    expect((await readdir(dir)).sort()).toEqual(["ctr.log", "ctr.log.3", "ctr.log.4", "ctr.log.5"]);
    expect(await read()).toEqual(["line-2", "line-3", "line-4"]);
  });

  it("reads a live file that was not linked yet after the generations, and applies tail and since", async () => {
    await writeFile(log, line(1) + line(2));
    await syncLogLinks(log, 3);
    await conmonRotate();
    await appendFile(log, line(3) + line(4));
    expect(await read()).toEqual(["line-1", "line-2", "line-3", "line-4"]);
    expect(await read({ tail: 2 })).toEqual(["line-3", "line-4"]);
    expect(await read({ sinceMs: Date.parse("2026-01-01T00:00:02Z") })).toEqual([
      "line-2",
      "line-3",
      "line-4",
    ]);
    expect(await read({ tail: 0 })).toEqual([]);
  });

  it("does not read a doubly linked file twice", async () => {
    await writeFile(log, line(1));
    await syncLogLinks(log, 3);
    await link(log, `${log}.2`);
    expect(await read()).toEqual(["line-1"]);
  });
});
