import type { Clock, TimerHandle } from "@shoal/base";

export interface BatchTiming {
  /** Quiet time after the last change before a pass. */
  debounceMs: number;
  /** Longest wait after the first change of a batch, however busy the store is. */
  maxDelayMs: number;
}

/** The scheduler's batching: 50 ms of quiet, at most 1 s (swarmkit's scheduler commits alike). */
export const SCHEDULER_BATCH: BatchTiming = { debounceMs: 50, maxDelayMs: 1_000 };
/**
 * The orchestrators, the updater and the allocator: a lone change is handled at the next tick
 * (the Batcher's leading fire), a busy store's commits are coalesced — each pass reads the
 * services they touched once, not once per commit.
 */
export const ORCHESTRATOR_BATCH: BatchTiming = { debounceMs: 20, maxDelayMs: 250 };
/** React at once to each commit (tests). */
export const IMMEDIATE: BatchTiming = { debounceMs: 0, maxDelayMs: 0 };

/** The shortest batching window after a fire that did work (see `Batcher.worked`). */
export const MIN_BATCH_WINDOW_MS = 2;

/**
 * Collects pokes into batches: `fire` runs a window after the last poke, or `maxDelayMs` after
 * the first one of the batch, whichever comes first. The window is `debounceMs`, or — when the
 * owner tells how long its last working fire took — twice that, within [MIN_BATCH_WINDOW_MS,
 * debounceMs], counted from the first poke of the batch (later pokes do not push it out): a loop
 * whose pass and commit take 3 ms batches what comes within 6 ms, not 50, and one whose pass over
 * 100,000 tasks takes 200 ms batches for 50 ms. (A rolling update's scheduler waited 9–28 ms
 * median, up to 316 ms, for each new task: each status commit of the running tasks pushed its
 * debounce out again.) A poke after quiet fires at the next tick
 * instead, so a lone change (a killed task's replacement) is not held back; the pokes of a busy
 * store are batched as before. Quiet is no batch open and no fire within `debounceMs` that did
 * work: the owner says which fires did (`worked`). A fire that found nothing to do (a pass that
 * read a commit of another loop's, a scheduler with no PENDING task) does not hold the next one
 * back — that was 100–200 ms per step of a killed task's replacement under load, each loop in the
 * chain orchestrator → allocator → scheduler waiting out a debounce after a pass of nothing.
 * Time is the injected Clock's.
 */
export class Batcher {
  private timer: TimerHandle | undefined;
  private firstAtMs: number | undefined;
  private lastWorkedMs = Number.NEGATIVE_INFINITY;
  private windowMs: number;
  /** The window is counted from the first poke (the owner reports what its fires cost). */
  private fixedWindow = false;
  /** A fire is due at the next tick; it sees every change poked before it. */
  private leading = false;

  constructor(
    private readonly clock: Clock,
    private readonly timing: BatchTiming,
    private readonly fire: () => void,
  ) {
    this.windowMs = timing.debounceMs;
  }

  /** A fire is due that a poke now would not move (the next tick's, or a window's from its first poke). */
  get isDue(): boolean {
    return this.leading || (this.timer !== undefined && this.fixedWindow);
  }

  poke(): void {
    const now = this.clock.now();
    if (this.leading) return;
    if (this.timer === undefined && now - this.lastWorkedMs >= this.windowMs) {
      this.leading = true;
      this.timer = this.clock.setTimeout(() => this.fireNow(), 0);
      return;
    }
    this.firstAtMs ??= now;
    const deadline = this.firstAtMs + this.timing.maxDelayMs;
    const dueMs = Math.min((this.fixedWindow ? this.firstAtMs : now) + this.windowMs, deadline);
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.fireNow(), dueMs - now);
  }

  /**
   * The last fire did work (a pass committed): pokes within the window of now are batched. Given
   * how long that fire took, the window is twice that (within [MIN_BATCH_WINDOW_MS, debounceMs]);
   * without it, `debounceMs`.
   */
  worked(tookMs?: number): void {
    this.lastWorkedMs = this.clock.now();
    this.fixedWindow = tookMs !== undefined;
    this.windowMs =
      tookMs === undefined
        ? this.timing.debounceMs
        : Math.min(this.timing.debounceMs, Math.max(MIN_BATCH_WINDOW_MS, 2 * tookMs));
  }

  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.firstAtMs = undefined;
    this.leading = false;
  }

  private fireNow(): void {
    this.timer = undefined;
    this.firstAtMs = undefined;
    this.leading = false;
    this.fire();
  }
}
