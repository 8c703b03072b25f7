import type { LogEntry } from "./types.js";

/**
 * conmon writes the CRI ("k8s-file") format: `<RFC3339Nano> <stream> <P|F> <text>`, one record per
 * line; P marks a partial line (the rest follows in the next records), F the final piece.
 */
export interface RawLogRecord {
  time: string;
  stream: "stdout" | "stderr";
  partial: boolean;
  text: string;
}

export function parseLogLine(line: string): RawLogRecord | undefined {
  const a = line.indexOf(" ");
  const b = line.indexOf(" ", a + 1);
  if (a <= 0 || b <= 0) return undefined;
  const stream = line.slice(a + 1, b);
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  const tag = line.slice(b + 1, b + 2);
  if ((tag !== "P" && tag !== "F") || (line.length > b + 2 && line[b + 2] !== " ")) return undefined;
  return { time: line.slice(0, a), stream, partial: tag === "P", text: line.slice(b + 3) };
}

/** RFC 3339 with nanoseconds → epoch ms (Date.parse stops at milliseconds, which is enough). */
export function logTimeMs(time: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (m === null) return Number.NaN;
  const frac = (m[2] ?? ".0").slice(0, 4);
  return Date.parse(`${m[1]}${frac}${m[3]}`);
}

/**
 * Joins partial records into whole lines, per stream. Feed records in file order; `push` returns
 * the complete entries they finish. The timestamp of a joined line is that of its first piece.
 */
export class LogLineAssembler {
  private readonly pending = new Map<string, { time: string; text: string }>();
  private readonly dropping = new Set<string>();

  /** The next line of `stream` is a remainder whose beginning is gone: it is not returned. */
  dropNext(stream: string): void {
    this.dropping.add(stream);
  }

  push(rec: RawLogRecord): LogEntry | undefined {
    if (this.dropping.has(rec.stream)) {
      if (!rec.partial) this.dropping.delete(rec.stream);
      return undefined;
    }
    const prior = this.pending.get(rec.stream);
    const time = prior?.time ?? rec.time;
    const text = (prior?.text ?? "") + rec.text;
    if (rec.partial) {
      this.pending.set(rec.stream, { time, text });
      return undefined;
    }
    this.pending.delete(rec.stream);
    return { time, timeMs: logTimeMs(time), stream: rec.stream, log: text };
  }

  /** Pieces never finished (the container died mid-line); emitted as they are at the end. */
  flush(): LogEntry[] {
    const out: LogEntry[] = [];
    for (const [stream, p] of this.pending)
      out.push({
        time: p.time,
        timeMs: logTimeMs(p.time),
        stream: stream as LogEntry["stream"],
        log: p.text,
      });
    this.pending.clear();
    return out;
  }
}

/** Parses whole files' text into entries (used for the non-follow part of a read). */
export function parseLogText(text: string, assembler = new LogLineAssembler()): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const rec = parseLogLine(line);
    if (rec === undefined) continue;
    const entry = assembler.push(rec);
    if (entry !== undefined) out.push(entry);
  }
  return out;
}

/** The JSON line readers get (Docker's json-file shape, plus the time in ms for scripts). */
export function formatLogEntry(entry: LogEntry): string {
  return JSON.stringify({ time: entry.time, stream: entry.stream, log: entry.log });
}
