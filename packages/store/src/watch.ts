import { ShoalError } from "@shoal/base";
import type { Change } from "./change.js";
import { StoreErrorCode } from "./errors.js";
import type { Kind } from "./kinds.js";

/** A change of one object, then (after all changes of an entry) one commit event. */
export type ChangeEvent = Change & { kind: "change" /** Raft index of the entry. */; index: number };
export interface CommitEvent {
  kind: "commit";
  index: number;
}
export type StoreEvent = ChangeEvent | CommitEvent;

export interface WatchFilter {
  /** Only these object kinds. */
  kinds?: readonly Kind[];
  /** Only this object id. */
  id?: string;
  /** The service with this id and the tasks of it. */
  serviceId?: string;
  /** The node with this id and the tasks on it (before or after the change). */
  nodeId?: string;
  /** Commit events too (default true). */
  commits?: boolean;
}

export interface WatchOptions {
  filter?: WatchFilter;
  /** Closes the watch (the iteration ends without an error). */
  signal?: AbortSignal;
  /** Events queued before the watcher counts as lagging. Default DEFAULT_WATCH_QUEUE_EVENTS. */
  maxQueuedEvents?: number;
}

/** A watcher this far behind is closed with STORE_WATCH_LAGGED so apply never waits for it. */
export const DEFAULT_WATCH_QUEUE_EVENTS = 10_000;

export function matches(filter: WatchFilter | undefined, event: StoreEvent): boolean {
  if (filter === undefined) return true;
  if (event.kind === "commit") return filter.commits !== false;
  if (filter.kinds !== undefined && !filter.kinds.includes(event.objectKind)) return false;
  if (filter.id !== undefined && event.id !== filter.id) return false;
  const o = event.object ?? event.old;
  if (filter.serviceId !== undefined) {
    const ok =
      (event.objectKind === "service" && event.id === filter.serviceId) ||
      (event.objectKind === "task" && (o as { serviceId: string }).serviceId === filter.serviceId);
    if (!ok) return false;
  }
  if (filter.nodeId !== undefined) {
    const ok =
      (event.objectKind === "node" && event.id === filter.nodeId) ||
      (event.objectKind === "task" &&
        ((event.object as { nodeId?: string } | undefined)?.nodeId === filter.nodeId ||
          (event.old as { nodeId?: string } | undefined)?.nodeId === filter.nodeId));
    if (!ok) return false;
  }
  return true;
}

/**
 * One watcher: an async iterable of events with a bounded queue. Apply pushes without waiting;
 * a full queue closes the watch with STORE_WATCH_LAGGED (the consumer resyncs with viewAndWatch).
 */
export class Watch implements AsyncIterableIterator<StoreEvent> {
  private queue: StoreEvent[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private ended = false;
  private error: ShoalError | undefined;

  constructor(
    private readonly filter: WatchFilter | undefined,
    private readonly maxQueued: number,
    private readonly onEnd: (w: Watch) => void,
  ) {}

  /** Called by apply: never blocks. */
  push(event: StoreEvent): void {
    if (this.ended || !matches(this.filter, event)) return;
    if (this.queue.length - this.head >= this.maxQueued) {
      this.fail(
        new ShoalError(
          StoreErrorCode.WatchLagged,
          `store watcher fell behind by more than ${this.maxQueued} events`,
          {
            hint: "resync with viewAndWatch and process events faster (or raise maxQueuedEvents)",
            details: { maxQueuedEvents: this.maxQueued, index: event.index },
          },
        ),
      );
      return;
    }
    this.queue.push(event);
    this.wakeUp();
  }

  fail(error: ShoalError): void {
    if (this.ended) return;
    this.error = error;
    this.queue = [];
    this.head = 0;
    this.end();
  }

  /** Ends the iteration after the queued events. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    this.wakeUp();
  }

  async next(): Promise<IteratorResult<StoreEvent>> {
    for (;;) {
      if (this.head < this.queue.length) {
        const value = this.queue[this.head++]!;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        return { value, done: false };
      }
      if (this.error !== undefined) {
        const err = this.error;
        this.error = undefined;
        throw err;
      }
      if (this.ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  async return(): Promise<IteratorResult<StoreEvent>> {
    this.queue = [];
    this.head = 0;
    this.error = undefined;
    this.end();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StoreEvent> {
    return this;
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** The store's watchers; apply publishes to all of them after each entry. */
export class WatchHub {
  private readonly watches = new Set<Watch>();

  get size(): number {
    return this.watches.size;
  }

  subscribe(options: WatchOptions = {}): Watch {
    const w = new Watch(options.filter, options.maxQueuedEvents ?? DEFAULT_WATCH_QUEUE_EVENTS, (x) => {
      this.watches.delete(x);
    });
    const signal = options.signal;
    if (signal?.aborted) w.end();
    else {
      this.watches.add(w);
      signal?.addEventListener("abort", () => w.end(), { once: true });
    }
    return w;
  }

  publish(events: readonly StoreEvent[]): void {
    if (this.watches.size === 0) return;
    for (const w of this.watches) for (const e of events) w.push(e);
  }

  failAll(error: () => ShoalError): void {
    for (const w of [...this.watches]) w.fail(error());
  }

  endAll(): void {
    for (const w of [...this.watches]) w.end();
  }
}
