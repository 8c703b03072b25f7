import type { ConsumerMessages, JetStreamClient, JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import { DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { type Clock, type Logger, systemClock } from "@shoal/base";
import type { Store } from "@shoal/store";
import { type ClusterEvent, type EventType, eventsOfChange, leaderEvent } from "./cluster-event.js";
import { nextWithin } from "./next-within.js";
import {
  EVENT_SUBJECT_ROOT,
  EVENTS_STREAM,
  eventSubject,
  FOLLOW_EXPIRES_MS,
  STORED_READ_IDLE_MS,
} from "./subjects.js";
import { retryTransient } from "./transient.js";

const NS_PER_MS = 1_000_000;
export const DEFAULT_EVENT_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** The one events stream (a manager makes it when it starts). */
export async function ensureEventStream(
  jsm: JetStreamManager,
  replicas = 1,
  maxAgeMs = DEFAULT_EVENT_RETENTION_MS,
): Promise<void> {
  const config = {
    name: EVENTS_STREAM,
    subjects: [`${EVENT_SUBJECT_ROOT}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: maxAgeMs * NS_PER_MS,
    duplicate_window: 10 * 60 * 1000 * NS_PER_MS,
    num_replicas: replicas,
  };
  const exists = await jsm.streams.info(EVENTS_STREAM).then(
    () => true,
    () => false,
  );
  if (exists) await jsm.streams.update(EVENTS_STREAM, config);
  else await jsm.streams.add(config);
}

export interface EventPublisherOptions {
  js: JetStreamClient;
  store: Store;
  logger: Logger;
  clock?: Clock;
}

/** Events queued for publishing beyond which the store watch waits (a server down for long). */
const MAX_PENDING = 10_000;

/**
 * Publishes the events of every store change as it is applied here. Each event's dedup id is made
 * of the Raft index and the object, so every manager may run one: the first copy is stored, the
 * others are dropped, and events keep flowing while one manager or its server is down.
 */
export class EventPublisher {
  private readonly clock: Clock;
  private readonly log: Logger;
  /** The last queued publish; the next one starts after it. */
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  /** The last entry whose events are queued (from the watch's commit events). */
  private seenIndex = 0;
  /** Leader events waiting for the watch to reach the entries applied before them. */
  private parked: {
    afterIndex: number;
    event: ClusterEvent;
    signal: AbortSignal | undefined;
    resolve: () => void;
  }[] = [];

  constructor(private readonly opts: EventPublisherOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ module: "bus/event-publisher" });
  }

  async run(signal: AbortSignal): Promise<void> {
    const watch = this.opts.store.watch({ signal, filter: { kinds: ["service", "task", "node"] } });
    for await (const ev of watch) {
      if (ev.kind === "commit") {
        this.seenIndex = ev.index;
        this.releaseParked(signal);
        continue;
      }
      // Queued at once, not awaited, so the watch keeps up; it waits only when the queue is long.
      for (const e of eventsOfChange(ev, this.clock.now())) void this.enqueue(e, signal);
      if (this.pending > MAX_PENDING) await this.tail;
    }
    await this.tail;
  }

  /**
   * Raft elected a leader (the daemon forwards its leader changes here). The event goes out after
   * the events of every entry applied before the call, which the watch may not have delivered yet.
   */
  leaderChanged(leaderNodeId: string, term: number, signal?: AbortSignal): Promise<void> {
    const event = leaderEvent(leaderNodeId, term, this.clock.now());
    const afterIndex = this.opts.store.applied;
    if (afterIndex <= this.seenIndex) return this.enqueue(event, signal);
    return new Promise((resolve) => this.parked.push({ afterIndex, event, signal, resolve }));
  }

  private releaseParked(signal: AbortSignal): void {
    const ready = this.parked.filter((p) => p.afterIndex <= this.seenIndex);
    if (ready.length === 0) return;
    this.parked = this.parked.filter((p) => p.afterIndex > this.seenIndex);
    for (const p of ready) void this.enqueue(p.event, p.signal ?? signal).then(p.resolve);
  }

  /** Events are published one at a time, in the order they happened. */
  private enqueue(e: ClusterEvent, signal?: AbortSignal): Promise<void> {
    this.pending++;
    const done = this.tail.then(() => this.publish(e, signal)).finally(() => this.pending--);
    this.tail = done;
    return done;
  }

  /** Retries until stored: while no server answers, events wait (the watch queue holds them). */
  private async publish(e: ClusterEvent, signal?: AbortSignal): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.opts.js.publish(eventSubject(e.type, e.action), JSON.stringify(e), {
          msgID: e.key,
          timeout: 5000,
        });
        return;
      } catch (err) {
        if (signal?.aborted) return;
        this.log.warn({ err, attempt, key: e.key }, "event publish failed; retrying");
        await this.clock.sleep(Math.min(5000, 100 * 2 ** attempt), signal).catch(() => undefined);
      }
    }
  }
}

export interface EventQuery {
  sinceMs?: number;
  untilMs?: number;
  type?: EventType;
  serviceId?: string;
  nodeId?: string;
  follow?: boolean;
  signal?: AbortSignal;
}

/** Stored events in order (from `sinceMs`), then, with `follow`, new ones as they come. */
export async function* readEvents(
  deps: { js: JetStreamClient },
  q: EventQuery,
): AsyncGenerator<ClusterEvent> {
  const retry = { signal: q.signal };
  const subject = q.type !== undefined ? `${EVENT_SUBJECT_ROOT}.${q.type}.>` : `${EVENT_SUBJECT_ROOT}.>`;
  const consumer = await retryTransient(
    () =>
      deps.js.consumers.get(EVENTS_STREAM, {
        filter_subjects: subject,
        ...(q.sinceMs !== undefined ? { opt_start_time: new Date(q.sinceMs).toISOString() } : {}),
      }),
    retry,
  );
  const keep = (e: ClusterEvent) =>
    (q.serviceId === undefined || e.serviceId === q.serviceId) &&
    (q.nodeId === undefined || e.nodeId === q.nodeId) &&
    (q.sinceMs === undefined || e.timeMs >= q.sinceMs);
  // A read of what is stored ends at the last matching event stored when it began, asked of the
  // stream's leader. Neither the consumer's pending count nor a replica's state will do: a
  // consumer on a server still catching up after another was killed or restarted says 0 early.
  // One that delivers nothing for STORED_READ_IDLE_MS before that ends the read too.
  const last = q.follow ? null : await lastStored(deps.js, subject, retry);
  if (!q.follow && (last === null || (q.sinceMs !== undefined && last.time.getTime() < q.sinceMs))) return;
  let messages: ConsumerMessages | undefined;
  const onAbort = () => messages?.stop();
  q.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    messages = await consumer.consume({ expires: FOLLOW_EXPIRES_MS });
    if (q.signal?.aborted) return;
    const it = messages[Symbol.asyncIterator]();
    for (;;) {
      const r = last === null ? await it.next() : await nextWithin(it, STORED_READ_IDLE_MS);
      if (r === undefined || r.done) return;
      const m = r.value;
      const e = m.json<ClusterEvent>();
      if (q.untilMs !== undefined && e.timeMs > q.untilMs) return;
      if (keep(e)) yield e;
      if (last !== null && m.seq >= last.seq) return;
    }
  } finally {
    q.signal?.removeEventListener("abort", onAbort);
    messages?.stop();
  }
}

/** The stream leader's last message on `subject` (a wildcard filter), or null when there is none. */
async function lastStored(
  js: JetStreamClient,
  subject: string,
  retry: { signal: AbortSignal | undefined },
): Promise<StoredMsg | null> {
  const stream = await retryTransient(() => js.streams.get(EVENTS_STREAM), retry);
  return retryTransient(() => stream.getMessage({ last_by_subj: subject }), retry);
}
