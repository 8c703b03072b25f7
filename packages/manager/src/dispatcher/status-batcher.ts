// Task status reports are written in batches (group commit): while no batch is being written a
// report is written at the next tick (with the others of that tick), so a lone transition (a task
// failing, its replacement running) is not held back; the reports that arrive while a batch is
// being written go to the store together as soon as it is applied, or MIN_STATUS_WRITE_GAP_MS
// after that write began if it was quicker (store.batch splits them into transactions of ≤ 200
// changes) — the busier the store, the larger the batches, and no report waits out the whole flush
// interval (it waited up to 100 ms behind any write in flight, which a rolling update's RUNNING
// reports met about half the time). A write that takes longer than the flush interval does not
// hold the next one back beyond it. A caller's promise settles when the batch holding its report is applied, so an
// acknowledged UpdateTaskStatus is in the store. Each write re-reads the task inside its
// transaction and re-checks the move is forward, so a concurrent change is never overwritten
// by a stale report.
import { type Clock, type Logger, ShoalError, type TimerHandle } from "@shoal/base";
import { isForwardTaskTransition, type TaskStatusUpdate } from "@shoal/proto";
import { type Store, StoreErrorCode } from "@shoal/store";
import { ManagerErrorCode } from "../errors.js";

/** A batch that met a concurrent change to one of its tasks is re-read and written again. */
const MAX_WRITE_ATTEMPTS = 3;

/** Reports that arrive while a batch is being written wait at most this long for it to be applied. */
export const DEFAULT_STATUS_FLUSH_MS = 100;
/**
 * Writes that follow one another start at least this far apart: a burst of reports (a hundred
 * containers starting) makes batches of this much time, not one Raft commit per few milliseconds
 * — each commit costs every leader loop and the dispatcher a look, on a manager that may be
 * starting containers too.
 */
export const MIN_STATUS_WRITE_GAP_MS = 20;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class StatusBatcher {
  private pending = new Map<string, TaskStatusUpdate>();
  private waiters: Waiter[] = [];
  private timer: TimerHandle | undefined;
  /** Batches being written now. */
  private writing = 0;
  /** When the last write began (the clock's ms). */
  private lastWriteMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly flushMs: number,
    private readonly logger: Logger,
  ) {}

  /** Queues reports; resolves once they are written (or dropped as no longer forward). */
  enqueue(updates: readonly TaskStatusUpdate[]): Promise<void> {
    if (this.closed)
      return Promise.reject(new ShoalError(ManagerErrorCode.Unavailable, "the dispatcher is stopping"));
    if (updates.length === 0) return Promise.resolve();
    for (const u of updates) this.pending.set(u.taskId, u);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    // Behind a write in flight the end of that write flushes; the timer is only the cap.
    const gapMs = Math.max(0, this.lastWriteMs + MIN_STATUS_WRITE_GAP_MS - this.clock.now());
    this.timer ??= this.clock.setTimeout(() => void this.flush(), this.writing > 0 ? this.flushMs : gapMs);
    return done;
  }

  /** Writes what is queued now; later reports start a new interval. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const updates = [...this.pending.values()];
    const waiters = this.waiters;
    this.pending = new Map();
    this.waiters = [];
    if (updates.length === 0) {
      for (const w of waiters) w.resolve();
      return;
    }
    this.writing++;
    this.lastWriteMs = this.clock.now();
    try {
      await this.write(updates);
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.logger.warn({ err, reports: updates.length }, "task status batch failed");
      for (const w of waiters) w.reject(err);
    } finally {
      this.writing--;
      if (this.writing === 0 && this.pending.size > 0 && !this.closed) {
        // What came during the write goes now, or once the gap since that write's start is over.
        const waitMs = Math.max(0, this.lastWriteMs + MIN_STATUS_WRITE_GAP_MS - this.clock.now());
        if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
        this.timer = this.clock.setTimeout(() => void this.flush(), waitMs);
      }
    }
  }

  private async write(updates: readonly TaskStatusUpdate[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.writeOnce(updates);
        return;
      } catch (err) {
        if (!ShoalError.is(err, StoreErrorCode.VersionConflict) || attempt >= MAX_WRITE_ATTEMPTS) throw err;
      }
    }
  }

  private async writeOnce(updates: readonly TaskStatusUpdate[]): Promise<void> {
    await this.store.batch((b) => {
      for (const update of updates) {
        b.update((tx) => {
          const task = tx.tasks.get(update.taskId);
          if (task === undefined || update.status === undefined) return;
          if (!isForwardTaskTransition(task.status?.state ?? 0, update.status.state)) return;
          tx.tasks.update({ ...task, status: update.status });
        });
      }
    });
  }

  /** Writes what is queued and refuses new reports. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}
