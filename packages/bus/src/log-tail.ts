import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parseLogLine } from "@shoal/runtime";

/** Where shipping stands in a container's log: a file (by inode, which rotation keeps) and a byte offset. */
export interface FilePosition {
  ino: number;
  offset: number;
}

/** One line as shipped: conmon's RFC 3339 time, the stream and the text (partial records joined). */
export interface ShippedLine {
  time: string;
  stream: "stdout" | "stderr";
  text: string;
}

export interface Chunk {
  ino: number;
  start: number;
  end: number;
  lines: ShippedLine[];
  /** True when the position we had was rotated away and deleted before it was read: lines were lost. */
  skipped: boolean;
}

interface LogFile {
  path: string;
  ino: number;
  size: number;
}

/**
 * The runtime's files of one container, oldest first: `ctr.log.<n>` by n, then the live `ctr.log`.
 * Rotation renames (the inode stays), so a position by inode survives it. The live file is listed
 * first for the same reason the runtime's reader does: a rotation in between then shows the inode
 * among the generations too, never in neither place.
 */
async function listFiles(logPath: string): Promise<LogFile[]> {
  const live = await stat(logPath).catch(() => undefined);
  const dir = dirname(logPath);
  const prefix = `${basename(logPath)}.`;
  const gens: { n: number; file: LogFile }[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const n = Number(name.slice(prefix.length));
    if (!Number.isInteger(n) || n <= 0) continue;
    const path = join(dir, name);
    const s = await stat(path).catch(() => undefined);
    if (s !== undefined) gens.push({ n, file: { path, ino: s.ino, size: s.size } });
  }
  const seen = new Set<number>();
  const out = gens
    .sort((a, b) => a.n - b.n)
    .map((g) => g.file)
    .filter((f) => !seen.has(f.ino) && seen.add(f.ino));
  if (live !== undefined && !seen.has(live.ino)) out.push({ path: logPath, ino: live.ino, size: live.size });
  return out;
}

/**
 * The next whole lines after `pos`, at most about `maxBytes` of file. A chunk ends after a record
 * that leaves no line half-assembled, so a restart that resumes at `end` never starts inside a
 * line. A rotated file is left for the next one only once the next one has data: conmon writes
 * into the renamed inode until it reopens, and writes into the new file only after that.
 */
export async function readChunk(
  logPath: string,
  pos: FilePosition | undefined,
  maxBytes: number,
): Promise<Chunk | undefined> {
  const files = await listFiles(logPath);
  if (files.length === 0) return undefined;
  let i = pos === undefined ? 0 : files.findIndex((f) => f.ino === pos.ino);
  const skipped = pos !== undefined && i === -1;
  let offset = pos !== undefined && i !== -1 ? pos.offset : 0;
  if (i === -1) i = 0;
  for (; i < files.length; i++) {
    const f = files[i] as LogFile;
    const next = files[i + 1];
    const handle = await open(f.path, "r").catch(() => undefined);
    if (handle === undefined) {
      offset = 0;
      continue;
    }
    try {
      const size = (await handle.stat()).size;
      if (size > offset) {
        // A rotated file whose successor has data is final: its last partial line is shipped as is.
        const final = next !== undefined && next.size > 0;
        const c = await readLines(
          handle,
          offset,
          Math.min(size - offset, maxBytes),
          final && size - offset <= maxBytes,
        );
        if (c !== undefined) return { ino: f.ino, start: offset, end: c.end, lines: c.lines, skipped };
      }
      if (next === undefined || next.size === 0)
        return skipped ? { ino: f.ino, start: offset, end: offset, lines: [], skipped } : undefined;
    } finally {
      await handle.close();
    }
    offset = 0;
  }
  return undefined;
}

/** Exactly the bytes [start, end) of the file with inode `ino`, as lines (a retry of a batch). */
export async function readRange(
  logPath: string,
  ino: number,
  start: number,
  end: number,
): Promise<ShippedLine[] | undefined> {
  const f = (await listFiles(logPath)).find((x) => x.ino === ino);
  if (f === undefined) return undefined;
  const handle = await open(f.path, "r").catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const c = await readLines(handle, start, end - start, true);
    return c?.lines ?? [];
  } finally {
    await handle.close();
  }
}

async function readLines(
  handle: FileHandle,
  offset: number,
  length: number,
  takeRest: boolean,
): Promise<{ end: number; lines: ShippedLine[] } | undefined> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buf, 0, length, offset);
  const data = buf.subarray(0, bytesRead);
  const lines: ShippedLine[] = [];
  const pending = new Map<string, { time: string; text: string }>();
  let committedLines = 0;
  let committedEnd = 0;
  let at = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, at);
    if (nl === -1) break;
    const rec = parseLogLine(data.subarray(at, nl).toString("utf8"));
    at = nl + 1;
    if (rec !== undefined) {
      const prior = pending.get(rec.stream);
      const time = prior?.time ?? rec.time;
      const text = (prior?.text ?? "") + rec.text;
      if (rec.partial) pending.set(rec.stream, { time, text });
      else {
        pending.delete(rec.stream);
        lines.push({ time, stream: rec.stream, text });
      }
    }
    if (pending.size === 0) {
      committedLines = lines.length;
      committedEnd = at;
    }
  }
  if (takeRest) {
    for (const [stream, p] of pending)
      lines.push({ time: p.time, stream: stream as ShippedLine["stream"], text: p.text });
    return at === 0 && lines.length === 0 ? undefined : { end: offset + at, lines };
  }
  if (committedEnd === 0) {
    // One line longer than the chunk: ship what there is rather than stall on it.
    if (at > 0 && length >= MIN_FORCED_BYTES) {
      for (const [stream, p] of pending)
        lines.push({ time: p.time, stream: stream as ShippedLine["stream"], text: p.text });
      return { end: offset + at, lines };
    }
    return undefined;
  }
  return { end: offset + committedEnd, lines: lines.slice(0, committedLines) };
}

const MIN_FORCED_BYTES = 64 * 1024;
