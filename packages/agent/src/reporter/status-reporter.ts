import { type Clock, isAbortError, type Logger, type Random } from "@shoal/base";
import type { TaskStatus, TaskStatusUpdate } from "@shoal/proto";
import { backoffDelayMs } from "../controller/backoff.js";
import type { AgentRecords } from "../records/agent-records.js";

/** Sends one batch of status updates to the dispatcher of the current session. */
export type StatusSender = (updates: TaskStatusUpdate[]) => Promise<void>;

export const DEFAULT_REPORT_BATCH_SIZE = 200;

export interface StatusReporterOptions {
  records: AgentRecords;
  clock: Clock;
  random: Random;
  logger: Logger;
  batchSize?: number;
}

/**
 * Never loses a transition: `report` writes the status to the records, and the loop sends only
 * what is on disk (it awaits `records.durable()` first); the loop sends every record whose latest seq this session has not had
 * acknowledged, retrying with backoff; a new session (`setSender`) starts from nothing acknowledged,
 * so everything is re-reported after every reconnect — including what a restarted agent found.
 * Only the latest status of a task is sent: the manager needs where the task is, and states only
 * move forward, so an intermediate state skipped on the wire is implied by the later one.
 */
export class StatusReporter {
  private sender: StatusSender | undefined;
  /** seq acknowledged per task in the current session. */
  private acked = new Map<string, number>();
  private wake: (() => void) | undefined;
  /** `delivered` calls waiting for a task's seq to be acknowledged. */
  private readonly waiters = new Set<{ taskId: string; seq: number; resolve: () => void }>();
  private readonly batchSize: number;
  private readonly log: Logger;

  constructor(private readonly opts: StatusReporterOptions) {
    this.batchSize = opts.batchSize ?? DEFAULT_REPORT_BATCH_SIZE;
    this.log = opts.logger.child({ module: "agent/reporter" });
  }

  /** Records the task's new status and schedules its report (sent once it is on disk). */
  report(taskId: string, status: TaskStatus): void {
    const record = this.opts.records.get(taskId);
    if (record === undefined) return;
    this.opts.records.put({ ...record, status, seq: record.seq + 1 });
    this.poke();
  }

  /** A new session's sender (everything is due again), or undefined while there is none. */
  setSender(sender: StatusSender | undefined): void {
    this.sender = sender;
    this.acked = new Map();
    this.poke();
  }

  /**
   * Resolves once the manager has acknowledged the task's status of `seq` (or a later one) in the
   * current session, or at once when the task has no record; rejects when `signal` aborts. A task
   * is forgotten only after this: its last status (REJECTED, SHUTDOWN, …) must reach the manager,
   * which otherwise keeps waiting for a task no node holds any more.
   */
  delivered(taskId: string, seq: number, signal: AbortSignal): Promise<void> {
    if (this.isDelivered(taskId, seq)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        taskId,
        seq,
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  private isDelivered(taskId: string, seq: number): boolean {
    return this.opts.records.get(taskId) === undefined || (this.acked.get(taskId) ?? -1) >= seq;
  }

  private settleWaiters(): void {
    for (const w of [...this.waiters]) {
      if (!this.isDelivered(w.taskId, w.seq)) continue;
      this.waiters.delete(w);
      w.resolve();
    }
  }

  /** Statuses not yet acknowledged in this session. */
  pending(): TaskStatusUpdate[] {
    return this.opts.records
      .all()
      .filter((r) => (this.acked.get(r.task.id) ?? -1) < r.seq)
      .map((r) => ({ taskId: r.task.id, status: r.status }));
  }

  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const sender = this.sender;
      const due =
        sender === undefined
          ? []
          : this.opts.records.all().filter((r) => (this.acked.get(r.task.id) ?? -1) < r.seq);
      if (sender === undefined || due.length === 0) {
        await this.idle(signal);
        continue;
      }
      const batch = due.slice(0, this.batchSize);
      const acked = this.acked;
      try {
        // Only what is on disk goes out: a status the manager has must survive our crash.
        await this.opts.records.durable();
        await sender(batch.map((r) => ({ taskId: r.task.id, status: r.status })));
        // Acknowledged for the seq that was sent; a newer status written meanwhile stays due.
        for (const r of batch) acked.set(r.task.id, r.seq);
        failures = 0;
        if (acked === this.acked) this.settleWaiters();
      } catch (err) {
        if (signal.aborted) return;
        const delayMs = backoffDelayMs(failures++, this.opts.random);
        this.log.warn({ err, delayMs, updates: batch.length }, "status report failed; retrying");
        try {
          await this.opts.clock.sleep(delayMs, signal);
        } catch (sleepErr) {
          if (isAbortError(sleepErr) || signal.aborted) return;
          throw sleepErr;
        }
      }
    }
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private idle(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
