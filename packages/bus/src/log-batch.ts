import type { ShippedLine } from "./log-tail.js";

/** Who wrote the lines of a batch: what the prefix `web.2.abc123@node2` is made of. */
export interface LogOrigin {
  taskId: string;
  serviceId: string;
  serviceName: string;
  slot: number;
  nodeId: string;
  nodeName: string;
}

/** One JetStream message: many lines of one task (one message per line would cap throughput). */
export interface LogBatch extends LogOrigin {
  lines: ShippedLine[];
}

/** A line as a reader gets it. */
export interface LogLine extends LogOrigin {
  time: string;
  /** ms since the epoch, with the sub-millisecond part as a fraction (orders lines finely). */
  timeMs: number;
  stream: "stdout" | "stderr";
  text: string;
}

interface Wire {
  t: string;
  s: string;
  sn: string;
  sl: number;
  n: string;
  nn: string;
  l: [string, 0 | 1, string][];
}

export function encodeBatch(b: LogBatch): Uint8Array {
  const w: Wire = {
    t: b.taskId,
    s: b.serviceId,
    sn: b.serviceName,
    sl: b.slot,
    n: b.nodeId,
    nn: b.nodeName,
    l: b.lines.map((x) => [x.time, x.stream === "stdout" ? 0 : 1, x.text]),
  };
  return Buffer.from(JSON.stringify(w));
}

export function decodeBatch(data: Uint8Array): LogLine[] {
  const w = JSON.parse(Buffer.from(data).toString("utf8")) as Wire;
  return w.l.map(([time, s, text]) => ({
    taskId: w.t,
    serviceId: w.s,
    serviceName: w.sn,
    slot: w.sl,
    nodeId: w.n,
    nodeName: w.nn,
    time,
    timeMs: preciseTimeMs(time),
    stream: s === 0 ? "stdout" : "stderr",
    text,
  }));
}

/** The dedup id of a batch: the same bytes of the same file of the same task give the same id. */
export function batchMsgId(taskId: string, ino: number, start: number): string {
  return `${taskId}:${ino}:${start}`;
}

/** RFC 3339 with up to nanoseconds → ms since the epoch, keeping the digits past the ms as a fraction (a double holds them to about a quarter microsecond; closer lines keep their stored order). */
export function preciseTimeMs(time: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (m === null) return Number.NaN;
  const frac = (m[2] ?? "").padEnd(9, "0").slice(0, 9);
  return Date.parse(`${m[1]}${m[3]}`) + Number(frac) / 1e6;
}
