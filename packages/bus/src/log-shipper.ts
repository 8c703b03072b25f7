import type { JetStreamClient } from "@nats-io/jetstream";
import { type Clock, type Logger, systemClock } from "@shoal/base";
import { batchMsgId, encodeBatch, type LogOrigin } from "./log-batch.js";
import { CursorStore, type ShipState } from "./log-cursor.js";
import { readChunk, readRange, type ShippedLine } from "./log-tail.js";
import { logSubject } from "./subjects.js";

/** One container whose log the shipper tails. */
export interface LogSource {
  containerId: string;
  /** The runtime's `ctr.log` of the container (rotated generations beside it). */
  logPath: string;
  taskId: string;
  serviceId: string;
  serviceName: string;
  slot: number;
}

export interface LogShipperOptions {
  js: JetStreamClient;
  nodeId: string;
  nodeName: string;
  /** Where the per-container cursors live (the agent's data dir). */
  cursorDir: string;
  logger: Logger;
  clock?: Clock;
  /** How often an idle log is looked at again. Default 200 ms (follow sees lines within a second). */
  pollMs?: number;
  /** File bytes per batch at most. Default 256 KiB. */
  batchBytes?: number;
  /** Called with the number of lines each acknowledged batch held (the metrics counter). */
  onPublished?: (lines: number) => void;
}

interface Tracked {
  source: LogSource;
  state: ShipState | undefined;
  /** untrack() asked: ship to the end of what is there, then forget the cursor. */
  draining: boolean;
  failures: number;
  retryAtMs: number;
}

/**
 * Tails the runtime's container logs and publishes their lines to JetStream in batches, resuming
 * from a persisted cursor: a batch is recorded as in flight before it is sent, sent with a dedup
 * id made of task, file and offset, and recorded as acknowledged after the server stored it, so
 * neither a crash nor a server failover loses a line or stores one twice.
 */
export class LogShipper {
  private readonly sources = new Map<string, Tracked>();
  private readonly cursors: CursorStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: LogShipperOptions) {
    this.cursors = new CursorStore(opts.cursorDir);
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ module: "bus/log-shipper" });
  }

  /** Starts (or keeps) tailing a container's log. */
  track(source: LogSource): void {
    const t = this.sources.get(source.containerId);
    if (t !== undefined) t.draining = false;
    else
      this.sources.set(source.containerId, {
        source,
        state: undefined,
        draining: false,
        failures: 0,
        retryAtMs: 0,
      });
    this.wake?.();
  }

  /** The container is removed: its remaining lines are shipped, then its cursor is deleted. */
  untrack(containerId: string): void {
    const t = this.sources.get(containerId);
    if (t !== undefined) t.draining = true;
    this.wake?.();
  }

  /** Ships until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const onAbort = () => this.wake?.();
    signal.addEventListener("abort", onAbort, { once: true });
    while (!signal.aborted) {
      const nowMs = this.clock.now();
      // Each container on its own: one whose service has no stream yet, or whose publish failed,
      // backs off alone while the others keep shipping.
      const results = await Promise.all(
        [...this.sources.values()]
          .filter((t) => t.retryAtMs <= nowMs)
          .map((t) => this.shipGuarded(t, signal)),
      );
      if (results.some((r) => r)) continue;
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimeout(resolve, this.opts.pollMs ?? 200);
        this.wake = () => {
          this.clock.clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    signal.removeEventListener("abort", onAbort);
  }

  private async shipGuarded(t: Tracked, signal: AbortSignal): Promise<boolean> {
    try {
      const busy = await this.shipSome(t);
      t.failures = 0;
      return busy;
    } catch (err) {
      if (signal.aborted) return false;
      t.failures++;
      const delayMs = Math.min(5000, 200 * 2 ** t.failures);
      t.retryAtMs = this.clock.now() + delayMs;
      this.log.warn(
        { err, containerId: t.source.containerId, failures: t.failures, delayMs },
        "log shipping failed; retrying",
      );
      return false;
    }
  }

  /** One batch of one container; true when it shipped something (more may be waiting). */
  private async shipSome(t: Tracked): Promise<boolean> {
    const { source } = t;
    t.state ??= await this.cursors.load(source.containerId);
    const state = t.state;
    if (state.inflight !== undefined) {
      // Sent before a crash or a failed publish: the same bytes again, under the same id.
      const f = state.inflight;
      const lines = await readRange(source.logPath, f.ino, f.start, f.end);
      if (lines !== undefined) await this.publish(source, f.ino, f.start, lines);
      t.state = { acked: { ino: f.ino, offset: f.end }, inflight: undefined };
      await this.cursors.save(source.containerId, t.state);
      return true;
    }
    const chunk = await readChunk(source.logPath, state.acked, this.opts.batchBytes ?? 256 * 1024);
    if (chunk === undefined) {
      if (t.draining) {
        this.sources.delete(source.containerId);
        await this.cursors.remove(source.containerId);
      }
      return false;
    }
    if (chunk.skipped)
      this.log.warn({ containerId: source.containerId }, "log rotated away before it was shipped");
    if (chunk.lines.length === 0) {
      t.state = { acked: { ino: chunk.ino, offset: chunk.end }, inflight: undefined };
      await this.cursors.save(source.containerId, t.state);
      return chunk.end > chunk.start;
    }
    t.state = { acked: state.acked, inflight: { ino: chunk.ino, start: chunk.start, end: chunk.end } };
    await this.cursors.save(source.containerId, t.state);
    await this.publish(source, chunk.ino, chunk.start, chunk.lines);
    t.state = { acked: { ino: chunk.ino, offset: chunk.end }, inflight: undefined };
    await this.cursors.save(source.containerId, t.state);
    return true;
  }

  private async publish(source: LogSource, ino: number, start: number, lines: ShippedLine[]): Promise<void> {
    if (lines.length === 0) return;
    const origin: LogOrigin = {
      taskId: source.taskId,
      serviceId: source.serviceId,
      serviceName: source.serviceName,
      slot: source.slot,
      nodeId: this.opts.nodeId,
      nodeName: this.opts.nodeName,
    };
    const ack = await this.opts.js.publish(
      logSubject(this.opts.nodeId, source.serviceId, source.taskId),
      encodeBatch({ ...origin, lines }),
      { msgID: batchMsgId(source.taskId, ino, start), timeout: 10_000 },
    );
    if (!ack.duplicate) this.opts.onPublished?.(lines.length);
  }
}
