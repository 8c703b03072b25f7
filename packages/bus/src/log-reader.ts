import type { ConsumerMessages, JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { type LogLine, linesOfMessage } from "./log-batch.js";
import { nextWithin } from "./next-within.js";
import {
  FOLLOW_EXPIRES_MS,
  logStreamName,
  STORED_READ_IDLE_MS,
  serviceLogSubjects,
  taskLogSubject,
} from "./subjects.js";
import { retryTransient } from "./transient.js";

export interface LogQuery {
  serviceId: string;
  /** Only this task's lines (the caller resolves a task to its service). */
  taskId?: string;
  sinceMs?: number;
  untilMs?: number;
  /** Only the last N lines of what is stored (follow continues after them). */
  tail?: number;
  follow?: boolean;
  signal?: AbortSignal;
}

/** What a read yields: lines, or a notice that says why there are none. */
export type LogReadItem = { kind: "line"; line: LogLine } | { kind: "notice"; message: string };

/**
 * Every task's lines of a service (or one task), merged in time order — also of tasks that ended
 * and nodes that are gone, for as long as the service's retention keeps them. With `follow`,
 * lines stored later are yielded as they arrive (in arrival order) until the signal aborts.
 */
export async function* readLogs(
  deps: { js: JetStreamClient; jsm: JetStreamManager },
  q: LogQuery,
): AsyncGenerator<LogReadItem> {
  const stream = logStreamName(q.serviceId);
  const retry = { signal: q.signal };
  // Only a missing stream means no lines; a server that does not answer yet is waited for.
  const info = await retryTransient(
    () =>
      deps.jsm.streams
        .info(stream)
        .catch((err: unknown) =>
          err instanceof Error && err.name === "StreamNotFoundError" ? undefined : Promise.reject(err),
        ),
    retry,
  );
  if (info === undefined) {
    yield { kind: "notice", message: `no logs are stored for service "${q.serviceId}"` };
    if (!q.follow) return;
  } else if (info.state.messages === 0 && info.state.last_seq > 0) {
    yield {
      kind: "notice",
      message: `the retention of service "${q.serviceId}" has removed all its lines (${info.state.last_seq} batches were stored)`,
    };
    if (!q.follow) return;
  }
  if (info === undefined) return;
  const subject =
    q.taskId !== undefined ? taskLogSubject(q.serviceId, q.taskId) : serviceLogSubjects(q.serviceId);
  // One subject as a string: nats-server 2.9 (Debian's) has no multi-subject filters.
  const consumer = await retryTransient(
    () => deps.js.consumers.get(stream, { filter_subjects: subject }),
    retry,
  );
  const keep = (l: LogLine) =>
    (q.sinceMs === undefined || l.timeMs >= q.sinceMs) && (q.untilMs === undefined || l.timeMs <= q.untilMs);
  // As in readEvents: the stored part ends at the last matching batch stored when the read began,
  // asked of the stream's leader (a consumer on a server catching up counts 0 pending early).
  const last = await retryTransient(
    () => deps.jsm.streams.getMessage(stream, { last_by_subj: subject }),
    retry,
  );
  let messages: ConsumerMessages | undefined;
  // close() resolves only once the iteration has ended; stop() ends it.
  const onAbort = () => messages?.stop();
  q.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const stored: LogLine[] = [];
    if (last !== null || q.follow) messages = await consumer.consume({ expires: FOLLOW_EXPIRES_MS });
    // One iterator for both parts: breaking out of a for-await would end the consumer.
    const it = messages?.[Symbol.asyncIterator]();
    if (last !== null && it !== undefined) {
      for (;;) {
        // A follow waits for a lagging replica: it goes on afterwards with the same iterator.
        const r = q.follow ? await it.next() : await nextWithin(it, STORED_READ_IDLE_MS);
        if (r === undefined || r.done) break;
        for (const l of linesOfMessage(r.value.subject, r.value.data)) if (keep(l)) stored.push(l);
        if (r.value.seq >= last.seq) break;
      }
    }
    // Stable: lines with the same time keep their stored order (a task's lines are stored in order).
    stored.sort((a, b) => a.timeMs - b.timeMs);
    const shown = q.tail === undefined ? stored : q.tail <= 0 ? [] : stored.slice(-q.tail);
    for (const line of shown) yield { kind: "line", line };
    if (!q.follow || it === undefined || q.signal?.aborted) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      for (const line of linesOfMessage(r.value.subject, r.value.data)) {
        if (q.untilMs !== undefined && line.timeMs > q.untilMs) return;
        if (keep(line)) yield { kind: "line", line };
      }
    }
  } finally {
    q.signal?.removeEventListener("abort", onAbort);
    messages?.stop();
  }
}
