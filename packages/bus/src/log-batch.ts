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
  if (!Array.isArray(w.l)) throw new TypeError("not a log batch: no lines");
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

/**
 * The lines of one stored message, as far as they can be trusted: the node, service and task are
 * the subject's (`shoal.logs.<node>.<service>.<task>`, which the server checked against the
 * publisher's certificate), not what the payload claims; a payload that is not a batch yields no
 * line (so no node can break every reader of a service with one bad message).
 */
export function linesOfMessage(subject: string, data: Uint8Array): LogLine[] {
  const [, , nodeId, serviceId, taskId] = subject.split(".");
  if (nodeId === undefined || serviceId === undefined || taskId === undefined) return [];
  let lines: LogLine[];
  try {
    lines = decodeBatch(data);
  } catch {
    return [];
  }
  return lines.flatMap((l) =>
    typeof l.text === "string" && Number.isFinite(l.timeMs)
      ? [{ ...l, nodeId, serviceId, taskId, nodeName: l.nodeId === nodeId ? l.nodeName : nodeId }]
      : [],
  );
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
