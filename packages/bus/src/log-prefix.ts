import type { LogLine } from "./log-batch.js";

export interface LogFormatOptions {
  /** `-t`: the line's time after the prefix. */
  timestamps?: boolean;
  /** `--no-task-ids`: `web.2@node2` instead of `web.2.abc123@node2`. */
  noTaskIds?: boolean;
  /** `--no-trunc`: whole task ids (else the first 12 characters, as docker shows). */
  noTrunc?: boolean;
  /** `--raw`: the line only, no prefix. */
  raw?: boolean;
}

/** Docker's `service logs` context: `<service>.<slot>.<task>@<node>`. */
export function logContext(line: LogLine, o: LogFormatOptions = {}): string {
  const task = o.noTaskIds ? "" : `.${o.noTrunc ? line.taskId : line.taskId.slice(0, 12)}`;
  return `${line.serviceName}.${line.slot}${task}@${line.nodeName}`;
}

/** One output line as `shoal service logs` prints it (without the newline). */
export function formatLogLine(line: LogLine, o: LogFormatOptions = {}): string {
  const time = o.timestamps ? `${line.time} ` : "";
  if (o.raw) return `${time}${line.text}`;
  return `${logContext(line, o)}    | ${time}${line.text}`;
}
