import { constants, type FSWatcher, watch } from "node:fs";
import { open, rename, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { Logger } from "@shoal/base";
import { ignoring } from "../ignore.js";
import { headMarkerPath, listGenerations } from "./log-files.js";
import { parseLogLine } from "./log-format.js";

/** Where rotation finds a container's monitor, and its limits. */
export interface RotateOptions {
  /** conmon's control fifo (`<bundle>/ctl`). */
  ctlPath: string;
  maxSizeBytes: number;
  /** Files kept, the live one included. */
  maxFiles: number;
}

/** conmon's control message that makes it reopen its log file (`REOPEN_LOGS_EVENT`). */
const REOPEN_LOGS = "2 0 0\n";

/**
 * Size-based rotation driven by the runtime, with conmon only writing. When the live file has
 * reached `maxSizeBytes`, it is renamed to the next generation (`<path>.<n>`) — conmon keeps
 * writing into the same inode, so nothing between the check and the switch is lost — and conmon
 * is told through its control fifo to reopen `<path>`, which it does between two writes. Then
 * generations beyond `maxFiles - 1` are deleted.
 *
 * conmon's own `--log-size-max` is not used: it replaces the file itself (`<path>.tmp` renamed
 * over `<path>`), and what it replaced before we had linked it was gone — a fast writer lost most
 * of its rotated files that way (no trick on our side can keep a file conmon renames over, since
 * the rename consumes whatever we prepared). Costs of rotating ourselves: a file passes
 * `maxSizeBytes` by what the container writes before the check runs (see `LogRotator`), and while
 * no runtime runs nothing rotates (the first check after `open` does).
 *
 * Returns true when it rotated. A container whose conmon is gone (exited) is not rotated: its
 * file is final. `known` (the generation numbers, oldest first) saves listing the dir on every
 * rotation when the caller keeps it between calls; it is updated in place.
 */
export async function rotateLog(logPath: string, o: RotateOptions, known?: number[]): Promise<boolean> {
  const size = await ignoring(
    stat(logPath).then((s) => s.size),
    ["ENOENT"],
    -1,
  );
  // -1: conmon has not reopened after the last rotation yet.
  if (size < o.maxSizeBytes || o.maxSizeBytes <= 0) return false;
  // O_NONBLOCK: ENXIO at once when no conmon reads the fifo any more.
  const ctl = await ignoring(
    open(o.ctlPath, constants.O_WRONLY | constants.O_NONBLOCK),
    ["ENOENT", "ENXIO"],
    undefined,
  );
  if (ctl === undefined) return false;
  const gens = known ?? [];
  if (known === undefined || known.length === 0)
    gens.splice(0, gens.length, ...(await listGenerations(logPath)).map((g) => g.n));
  const next = (gens.at(-1) ?? 0) + 1;
  try {
    const moved = await ignoring(
      rename(logPath, `${logPath}.${next}`).then(() => true),
      ["ENOENT"],
      false,
    );
    if (!moved) return false;
    gens.push(next);
    // EPIPE/EAGAIN: conmon went away just now, and nothing writes into the file any more.
    await ignoring(ctl.write(REOPEN_LOGS), ["EPIPE", "EAGAIN"], undefined);
  } finally {
    await ctl.close();
  }
  const keep = Math.max(0, o.maxFiles - 1);
  const doomed = gens.splice(0, Math.max(0, gens.length - keep));
  const heir = gens[0];
  const lastDoomed = doomed.at(-1);
  if (heir !== undefined && lastDoomed !== undefined) {
    // A line split across the rotation must not show up as a fragment at the head of the oldest kept file.
    const unfinished = await unfinishedStreams(`${logPath}.${lastDoomed}`);
    if (unfinished.length > 0)
      await writeFile(headMarkerPath(`${logPath}.${heir}`), JSON.stringify(unfinished));
  }
  for (const n of doomed) {
    await ignoring(unlink(`${logPath}.${n}`), ["ENOENT"], undefined);
    await ignoring(unlink(headMarkerPath(`${logPath}.${n}`)), ["ENOENT"], undefined);
  }
  return true;
}

/** Streams whose last record in the file is a partial one (the line goes on in the next file). */
async function unfinishedStreams(path: string): Promise<string[]> {
  const handle = await ignoring(open(path, "r"), ["ENOENT"], undefined);
  if (handle === undefined) return [];
  let text: string;
  try {
    const size = (await handle.stat()).size;
    // conmon's records are at most its 8 KiB read buffer plus the header: the tail holds the last ones.
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    await handle.read(buf, 0, len, size - len);
    text = buf.toString("utf8");
  } finally {
    await handle.close();
  }
  const last = new Map<string, boolean>();
  for (const line of text.split("\n").reverse()) {
    const rec = parseLogLine(line);
    if (rec !== undefined && !last.has(rec.stream)) last.set(rec.stream, rec.partial);
  }
  return [...last].filter(([, partial]) => partial).map(([stream]) => stream);
}

const TAIL_BYTES = 64 * 1024;

interface Watched {
  logPath: string;
  opts: RotateOptions;
  watcher: FSWatcher;
  running: boolean;
  again: boolean;
  /** Generation numbers on disk, oldest first (only this rotator makes or deletes them). */
  gens: number[];
}

/**
 * Runs `rotateLog` as soon as a container's log grows: an inotify watch on the container's dir
 * (conmon's writes to the live file are IN_MODIFY events), so a file is rotated within an event
 * loop turn of passing its limit, whatever the write rate. Checks of one container never overlap;
 * events during a check make it run once more. The runtime's periodic sync calls `watch` again,
 * which starts missing watches (after `open`) and catches anything a watch could miss.
 */
export class LogRotator {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly log: Logger) {}

  /** Watches one container's log (idempotent) and checks it now. */
  watch(id: string, logPath: string, opts: RotateOptions): void {
    let w = this.watched.get(id);
    if (w === undefined) {
      const name = basename(logPath);
      let watcher: FSWatcher;
      try {
        watcher = watch(dirname(logPath), { persistent: false }, (_event, file) => {
          if (file === null || file === name) this.check(id);
        });
      } catch (err) {
        this.log.warn(
          { containerId: id, err },
          "cannot watch the container's log; rotating on the timer only",
        );
        void this.once(id, logPath, opts);
        return;
      }
      // The dir went away (the container was removed): nothing left to rotate.
      watcher.on("error", () => this.unwatch(id));
      w = { logPath, opts, watcher, running: false, again: false, gens: [] };
      this.watched.set(id, w);
    }
    this.check(id);
  }

  unwatch(id: string): void {
    this.watched.get(id)?.watcher.close();
    this.watched.delete(id);
  }

  /** Stops watching every container not in `ids`. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of [...this.watched.keys()]) if (!ids.has(id)) this.unwatch(id);
  }

  close(): void {
    for (const id of [...this.watched.keys()]) this.unwatch(id);
  }

  private check(id: string): void {
    const w = this.watched.get(id);
    if (w === undefined) return;
    if (w.running) {
      w.again = true;
      return;
    }
    w.running = true;
    void (async () => {
      try {
        do {
          w.again = false;
          await rotateLog(w.logPath, w.opts, w.gens);
        } while (w.again && this.watched.get(id) === w);
      } catch (err) {
        this.log.warn({ containerId: id, err }, "log rotation failed");
      } finally {
        w.running = false;
      }
    })();
  }

  private async once(id: string, logPath: string, opts: RotateOptions): Promise<void> {
    try {
      await rotateLog(logPath, opts);
    } catch (err) {
      this.log.warn({ containerId: id, err }, "log rotation failed");
    }
  }
}
