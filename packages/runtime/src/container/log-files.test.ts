import { execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { appendFile, link, mkdtemp, open, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "@shoal/base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLogs } from "./log-files.js";
import { rotateLog } from "./log-rotator.js";
import type { LogEntry } from "./types.js";

let dir: string;
let log: string;
let ctl: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-logfiles-"));
  log = join(dir, "ctr.log");
  ctl = join(dir, "ctl");
  execFileSync("mkfifo", [ctl]);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = (n: number) => `2026-01-01T00:00:${String(n).padStart(2, "0")}.000000000Z stdout F line-${n}\n`;

async function read(opts = {}): Promise<string[]> {
  const out: LogEntry[] = [];
  const deps = { clock: new ManualClock(), hasExited: async () => true, pollMs: 1 };
  for await (const e of readLogs(log, opts, deps)) out.push(e);
  return out.map((e) => e.log);
}

/** Stands in for conmon: reads the control fifo and reopens the log (a fresh file) on request. */
async function fakeConmon() {
  const fd = await open(ctl, constants.O_RDONLY | constants.O_NONBLOCK);
  const messages: string[] = [];
  return {
    messages,
    /** What conmon does on REOPEN_LOGS_EVENT: a fresh file at the log path. */
    async serve() {
      const buf = Buffer.alloc(64);
      const { bytesRead } = await fd.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      messages.push(buf.subarray(0, bytesRead).toString());
      await writeFile(`${log}.tmp`, "");
      await link(`${log}.tmp`, log);
      await rm(`${log}.tmp`);
    },
    close: () => fd.close(),
  };
}

const opts = { ctlPath: "", maxSizeBytes: 40, maxFiles: 3 };

describe("log rotation", () => {
  it("renames a full live file to the next generation, tells conmon to reopen, and prunes", async () => {
    const conmon = await fakeConmon();
    try {
      await writeFile(log, "");
      // Below the limit: nothing happens.
      expect(await rotateLog(log, { ...opts, ctlPath: ctl })).toBe(false);
      for (let gen = 0; gen <= 4; gen++) {
        await appendFile(log, line(gen));
        expect(await rotateLog(log, { ...opts, ctlPath: ctl })).toBe(true);
        await conmon.serve();
      }
      expect(conmon.messages.join("")).toBe("2 0 0\n".repeat(5));
      expect((await readdir(dir)).filter((f) => f.startsWith("ctr.log")).sort()).toEqual([
        "ctr.log",
        "ctr.log.4",
        "ctr.log.5",
      ]);
      await appendFile(log, line(9));
      expect(await read()).toEqual(["line-3", "line-4", "line-9"]);
    } finally {
      await conmon.close();
    }
  });

  it("leaves the file of a container whose conmon is gone alone", async () => {
    await writeFile(log, line(1) + line(2) + line(3));
    // Nobody reads the fifo (ENXIO), or there is none at all (ENOENT).
    expect(await rotateLog(log, { ...opts, ctlPath: ctl })).toBe(false);
    expect(await rotateLog(log, { ...opts, ctlPath: join(dir, "no-ctl") })).toBe(false);
    expect(await read()).toEqual(["line-1", "line-2", "line-3"]);
  });

  it("reads generations then the live file, with tail and since", async () => {
    await writeFile(`${log}.1`, line(1) + line(2));
    await writeFile(log, line(3) + line(4));
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
    await link(log, `${log}.2`);
    expect(await read()).toEqual(["line-1"]);
  });

  it("drops the remainder of a line whose beginning was in a deleted generation", async () => {
    const conmon = await fakeConmon();
    try {
      await writeFile(log, `${line(1)}2026-01-01T00:00:02.000000000Z stdout P 12\n`);
      expect(await rotateLog(log, { ...opts, maxFiles: 2, ctlPath: ctl })).toBe(true);
      await conmon.serve();
      await appendFile(log, `2026-01-01T00:00:02.000000000Z stdout F 34\n${line(3)}`);
      expect(await read()).toEqual(["line-1", "1234", "line-3"]);
      // The next rotation deletes the file holding "12": "34" alone is no line.
      expect(await rotateLog(log, { ...opts, maxFiles: 2, ctlPath: ctl })).toBe(true);
      await conmon.serve();
      expect(await read()).toEqual(["line-3"]);
    } finally {
      await conmon.close();
    }
  });

  it("ends with a last line that had no newline (a partial record)", async () => {
    await writeFile(
      log,
      `${line(1)}2026-01-01T00:00:02.000000000Z stdout P no-newline\n2026-01-01T00:00:02.000000000Z stderr P half\n`,
    );
    expect(await read()).toEqual(["line-1", "no-newline", "half"]);
    expect(await read({ tail: 1 })).toEqual(["half"]);
  });
});
