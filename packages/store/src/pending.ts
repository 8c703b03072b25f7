import { type Clock, ShoalError, type TimerHandle } from "@shoal/base";
import type { Change } from "./change.js";
import { StoreErrorCode } from "./errors.js";

/** What a committed transaction did. */
export interface Committed {
  /** Raft index of the entry: the new `meta.version` of every object written. */
  index: number;
  changes: Change[];
}

interface Waiter {
  resolve: (c: Committed) => void;
  reject: (err: Error) => void;
  timer: TimerHandle | undefined;
}

/** Writers waiting for their request ids to be applied here (or to fail, or to time out). */
export class PendingRequests {
  private readonly waiters = new Map<number, Waiter>();

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.waiters.size;
  }

  add(id: number, timeoutMs: number): Promise<Committed> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (!this.waiters.delete(id)) return;
        reject(
          new ShoalError(
            StoreErrorCode.DeadlineExceeded,
            `store transaction was not applied within ${timeoutMs}ms; its outcome is unknown`,
            { hint: "read the objects back before retrying", details: { timeoutMs } },
          ),
        );
      }, timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
    });
  }

  has(id: number): boolean {
    return this.waiters.has(id);
  }

  resolve(id: number, committed: Committed): void {
    const w = this.take(id);
    w?.resolve(committed);
  }

  reject(id: number, err: Error): void {
    this.take(id)?.reject(err);
  }

  rejectAll(err: () => Error): void {
    for (const id of [...this.waiters.keys()]) this.reject(id, err());
  }

  private take(id: number): Waiter | undefined {
    const w = this.waiters.get(id);
    if (w === undefined) return undefined;
    this.waiters.delete(id);
    if (w.timer !== undefined) this.clock.clearTimeout(w.timer);
    return w;
  }
}
