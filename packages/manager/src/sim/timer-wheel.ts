// One timer for thousands of simulated agents' heartbeats: callbacks go into slots of `tickMs`
// and a single interval runs the slots that came due. A Timeout object per agent per heartbeat
// (10,000 a second in a bench) made the simulator's processes, not the dispatcher they measure,
// the first thing to fall behind. A callback runs up to one tick late, never early.

/** The wheel's resolution: a heartbeat is sent at most this much after it was due. */
export const DEFAULT_WHEEL_TICK_MS = 10;

/** What `schedule` returns, for `cancel`. */
export interface WheelEntry {
  readonly slot: number;
  readonly fn: () => void;
}

export class TimerWheel {
  private readonly slots = new Map<number, Set<WheelEntry>>();
  private size = 0;
  /** The last slot already run. */
  private ranUpTo: number;
  private interval: NodeJS.Timeout | undefined;

  constructor(
    private readonly tickMs = DEFAULT_WHEEL_TICK_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.ranUpTo = Math.floor(this.now() / tickMs);
  }

  /** Runs `fn` once, `delayMs` from now (rounded up to the next tick). */
  schedule(delayMs: number, fn: () => void): WheelEntry {
    const now = this.now();
    // Runs only while something is scheduled, and never keeps a process alive by itself.
    if (this.interval === undefined) {
      this.ranUpTo = Math.floor(now / this.tickMs);
      this.interval = setInterval(() => this.run(), this.tickMs);
      this.interval.unref();
    }
    // Never early: the slot starts at or after the due time, and is one not yet run.
    const slot = Math.max(this.ranUpTo + 1, Math.ceil((now + Math.max(0, delayMs)) / this.tickMs));
    const entry = { slot, fn };
    let set = this.slots.get(slot);
    if (set === undefined) {
      set = new Set();
      this.slots.set(slot, set);
    }
    set.add(entry);
    this.size++;
    return entry;
  }

  cancel(entry: WheelEntry): void {
    if (this.slots.get(entry.slot)?.delete(entry) === true) {
      this.size--;
      if (this.slots.get(entry.slot)?.size === 0) this.slots.delete(entry.slot);
      this.stopIfIdle();
    }
  }

  private run(): void {
    const due = Math.floor(this.now() / this.tickMs);
    // Slot by slot up to now: after a stall every slot missed runs, in order.
    while (this.ranUpTo < due) {
      const slot = ++this.ranUpTo;
      const set = this.slots.get(slot);
      if (set === undefined) continue;
      this.slots.delete(slot);
      this.size -= set.size;
      for (const entry of set) entry.fn();
    }
    this.stopIfIdle();
  }

  private stopIfIdle(): void {
    if (this.size > 0 || this.interval === undefined) return;
    clearInterval(this.interval);
    this.interval = undefined;
  }
}

/** The wheel every simulated agent of this process shares. */
export const heartbeatWheel = new TimerWheel();
