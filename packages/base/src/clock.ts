/**
 * Time as a dependency. Decision code never reads the clock; the shells around it take a Clock so
 * that tests drive time with ManualClock instead of waiting on real timers.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (ManualClock: since whatever it was started at). */
  now(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Resolves after `delayMs`; rejects with the signal's reason when aborted first. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

function sleepOn(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The longest delay Node's timers take; a longer one fires at once (with a warning). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export class SystemClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  /** `maxDelayMs` is for tests only: delays above it are waited out in steps of at most it. */
  constructor(private readonly maxDelayMs = MAX_TIMER_DELAY_MS) {}

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.arm(id, Date.now() + Math.max(0, delayMs), fn);
    return { id };
  }

  // A delay beyond Node's limit (a 90-day certificate's renewal) is waited out in steps, each
  // re-checking the wall clock, instead of firing at once.
  private arm(id: number, dueMs: number, fn: () => void): void {
    const remaining = dueMs - Date.now();
    const step = Math.min(Math.max(0, remaining), this.maxDelayMs);
    const timer = setTimeout(() => {
      if (!this.timers.has(id)) return;
      if (Date.now() < dueMs && remaining > this.maxDelayMs) {
        this.arm(id, dueMs, fn);
        return;
      }
      this.timers.delete(id);
      fn();
    }, step);
    this.timers.set(id, timer);
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = this.timers.get(handle.id);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.timers.delete(handle.id);
    }
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }
}

/** The wall clock, backed by the process's timers. */
export const systemClock: Clock = new SystemClock();

interface ManualTimer {
  id: number;
  dueMs: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire in due order (ties in creation order) during
 * `advance`, each seeing `now()` equal to its due time.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    // As Node does, a delay that is not a number fires as soon as possible; a NaN due time would
    // otherwise fire at once and set now() to NaN for every later reader.
    const delay = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    this.timers.push({ id, dueMs: this.nowMs + delay, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }

  /** Number of timers not yet fired. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const targetMs = this.targetOf(ms);
    while (this.fireNextDue(targetMs)) {}
    this.nowMs = targetMs;
  }

  /** Like `advance`, but lets promise callbacks run after each timer (for async code under test). */
  async advanceAsync(ms: number): Promise<void> {
    const targetMs = this.targetOf(ms);
    do {
      await flushMicrotasks();
    } while (this.fireNextDue(targetMs));
    this.nowMs = targetMs;
    await flushMicrotasks();
  }

  /** Fires the earliest timer due by `targetMs`, at its due time; false when none is. */
  private fireNextDue(targetMs: number): boolean {
    const next = this.earliestDue();
    if (next === undefined || next.dueMs > targetMs) return false;
    this.timers = this.timers.filter((t) => t !== next);
    this.nowMs = next.dueMs;
    next.fn();
    return true;
  }

  /** Time only moves forward: code under test relies on now() never decreasing. */
  private targetOf(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`manual clock advance of ${ms} ms is not a finite amount of at least 0`);
    }
    return this.nowMs + ms;
  }

  private earliestDue(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (best === undefined || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.id < best.id)) best = t;
    }
    return best;
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
