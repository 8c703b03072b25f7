import { open, readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Clock } from "@shoal/base";
import { ignoring } from "../ignore.js";
import { LogLineAssembler, parseLogText } from "./log-format.js";
import type { LogEntry } from "./types.js";

interface Generation {
  n: number;
  path: string;
  ino: number;
}

/** The rotated files `<logPath>.<n>`, oldest first. */
export async function listGenerations(logPath: string): Promise<Generation[]> {
  const dir = dirname(logPath);
  const base = `${basename(logPath)}.`;
  const names = await ignoring(readdir(dir), ["ENOENT"], [] as string[]);
  const gens: Generation[] = [];
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const n = Number(name.slice(base.length));
    if (!Number.isInteger(n) || n <= 0) continue;
    const p = join(dir, name);
    const s = await ignoring(stat(p), ["ENOENT"], undefined);
    if (s !== undefined) gens.push({ n, path: p, ino: s.ino });
  }
  return gens.sort((a, b) => a.n - b.n);
}

/** Files to read, oldest first: the generations, then the live file. */
async function filesInOrder(logPath: string): Promise<{ path: string; ino: number }[]> {
  // The live file first: a rotation right after shows it among the generations too (same inode,
  // dropped below), while listing first could miss it in both places and lose a follower's place.
  const live = await ignoring(stat(logPath), ["ENOENT"], undefined);
  const gens = await listGenerations(logPath);
  // Two links to one inode (left by an older runtime's hard-link rotation) must not make its lines
  // appear twice.
  const seen = new Set<number>();
  const out = gens
    .filter((g) => !seen.has(g.ino) && seen.add(g.ino))
    .map((g) => ({ path: g.path, ino: g.ino }));
  if (live !== undefined && !seen.has(live.ino)) out.push({ path: logPath, ino: live.ino });
  return out;
}

/**
 * `<generation>.head` names the streams whose line began in a generation rotation deleted since:
 * the first piece of each of them in this file is the end of a line nobody can read whole.
 */
export function headMarkerPath(generationPath: string): string {
  return `${generationPath}.head`;
}

async function brokenHeads(path: string): Promise<string[]> {
  const text = await ignoring(readFile(headMarkerPath(path), "utf8"), ["ENOENT"], "[]");
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export interface ReadLogsOptions {
  follow?: boolean;
  /** Only the last `tail` entries of what is already written (follow continues after them). */
  tail?: number;
  /** Only entries at or after this time (ms since epoch). */
  sinceMs?: number;
  signal?: AbortSignal;
}

export interface FollowDeps {
  clock: Clock;
  /** True once the container has exited: following ends after the last bytes are read. */
  hasExited: () => Promise<boolean>;
  pollMs: number;
}

/**
 * The container's log as entries. Without `follow` it ends at the current end; with `follow` it
 * waits for new lines (across rotations) until the container exits or the signal aborts.
 */
export async function* readLogs(
  logPath: string,
  opts: ReadLogsOptions,
  deps: FollowDeps,
): AsyncGenerator<LogEntry> {
  const files = await filesInOrder(logPath);
  const assembler = new LogLineAssembler();
  let entries: LogEntry[] = [];
  // Reading by open handle pins each inode, so a rotation in the middle cannot pull it away.
  let last: { ino: number; offset: number } | undefined;
  const first = files[0];
  if (first !== undefined) for (const stream of await brokenHeads(first.path)) assembler.dropNext(stream);
  for (const f of files) {
    // Pruned since it was listed: the next one follows on.
    const handle = await ignoring(open(f.path, "r"), ["ENOENT"], undefined);
    if (handle === undefined) continue;
    try {
      const buf = await handle.readFile();
      const text = buf.toString("utf8");
      // Only whole lines; a line conmon is still writing is picked up by the follow loop.
      const end = text.lastIndexOf("\n") + 1;
      entries.push(...parseLogText(text.slice(0, end), assembler));
      last = { ino: f.ino, offset: Buffer.byteLength(text.slice(0, end)) };
    } finally {
      await handle.close();
    }
  }
  // A last line without a newline (conmon wrote it as a partial record) is part of what is there;
  // a follower gets it once the container is done, or its rest first if it still comes.
  if (!opts.follow) entries.push(...assembler.flush());
  if (opts.sinceMs !== undefined) entries = entries.filter((e) => e.timeMs >= (opts.sinceMs as number));
  if (opts.tail !== undefined) entries = opts.tail <= 0 ? [] : entries.slice(-opts.tail);
  for (const e of entries) yield e;
  if (!opts.follow) return;

  let cursor = last ?? { ino: -1, offset: 0 };
  const keep = (e: LogEntry) => opts.sinceMs === undefined || e.timeMs >= opts.sinceMs;
  // conmon may still be draining the pipes when the exit file appears, so following ends only
  // after two empty reads once the exit is known.
  let quietSinceExit = 0;
  for (;;) {
    if (opts.signal?.aborted) return;
    const exited = await deps.hasExited();
    const fresh = await readNew(logPath, cursor, assembler);
    cursor = fresh.cursor;
    for (const e of fresh.entries) if (keep(e)) yield e;
    quietSinceExit = exited && fresh.entries.length === 0 ? quietSinceExit + 1 : 0;
    if (quietSinceExit >= 2) {
      for (const e of assembler.flush()) if (keep(e)) yield e;
      return;
    }
    if (fresh.entries.length === 0) {
      try {
        await deps.clock.sleep(deps.pollMs, opts.signal);
      } catch {
        return;
      }
    }
  }
}

/** Reads whatever was appended since `cursor`, finishing a rotated-away file before the new one. */
async function readNew(
  logPath: string,
  cursor: { ino: number; offset: number },
  assembler: LogLineAssembler,
): Promise<{ entries: LogEntry[]; cursor: { ino: number; offset: number } }> {
  const files = await filesInOrder(logPath);
  const idx = files.findIndex((f) => f.ino === cursor.ino);
  // The file we were in was pruned (reader too slow): continue at the oldest still there.
  const from = idx === -1 ? 0 : idx;
  const entries: LogEntry[] = [];
  let next = idx === -1 ? { ino: files[0]?.ino ?? -1, offset: 0 } : cursor;
  for (let i = from; i < files.length; i++) {
    const f = files[i] as { path: string; ino: number };
    const offset = f.ino === next.ino ? next.offset : 0;
    const handle = await ignoring(open(f.path, "r"), ["ENOENT"], undefined);
    if (handle === undefined) continue;
    try {
      const size = (await handle.stat()).size;
      if (size > offset) {
        const buf = Buffer.alloc(size - offset);
        await handle.read(buf, 0, buf.length, offset);
        const end = buf.lastIndexOf(0x0a) + 1;
        entries.push(...parseLogText(buf.subarray(0, end).toString("utf8"), assembler));
        next = { ino: f.ino, offset: offset + end };
      } else {
        next = { ino: f.ino, offset };
      }
    } finally {
      await handle.close();
    }
  }
  return { entries, cursor: next };
}

/** Total bytes of the live file and generations (for tests and `inspect`). */
export async function logBytes(logPath: string): Promise<number> {
  let total = 0;
  for (const f of await filesInOrder(logPath))
    total += (await ignoring(stat(f.path), ["ENOENT"], { size: 0 })).size;
  return total;
}
