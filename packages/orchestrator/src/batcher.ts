import type { Clock, TimerHandle } from "@shoal/base";

export interface BatchTiming {
  /** Quiet time after the last change before a pass. */
  debounceMs: number;
  /** Longest wait after the first change of a batch, however busy the store is. */
  maxDelayMs: number;
}

/** The scheduler's batching: 50 ms of quiet, at most 1 s (swarmkit's scheduler commits alike). */
export const SCHEDULER_BATCH: BatchTiming = { debounceMs: 50, maxDelayMs: 1_000 };
/** The orchestrators react at once to each commit. */
export const IMMEDIATE: BatchTiming = { debounceMs: 0, maxDelayMs: 0 };

/**
 * Collects pokes into batches: `fire` runs `debounceMs` after the last poke, or `maxDelayMs` after
 * the first one of the batch, whichever comes first. Time is the injected Clock's.
 */
export class Batcher {
  private timer: TimerHandle | undefined;
  private firstAtMs: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly timing: BatchTiming,
    private readonly fire: () => void,
  ) {}

  poke(): void {
    const now = this.clock.now();
    this.firstAtMs ??= now;
    const deadline = this.firstAtMs + this.timing.maxDelayMs;
    const dueMs = Math.min(now + this.timing.debounceMs, deadline);
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.firstAtMs = undefined;
      this.fire();
    }, dueMs - now);
  }

  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.firstAtMs = undefined;
  }
}
