import type { Clock, TimerHandle } from "@shoal/base";
import type { EventQueue } from "./event-queue.js";

/**
 * One simulated server process on the shared virtual clock. Everything that makes the process run
 * — its timers, message deliveries, disk completions, client requests — is scheduled through it,
 * so that a crash drops all of it (a new incarnation starts clean), a pause holds all of it back
 * until the pause ends (the process keeps its state, as under a long GC or a stopped VM), and a
 * drift factor stretches or shrinks its timers (tick drift between machines).
 */
export class SimProcess {
  incarnation = 0;
  alive = false;
  /** Virtual time the current pause ends (0 = running); set through pause() and resume(). */
  private pausedUntil = 0;
  /** What came due while paused, in order; runs when the pause ends. */
  private held: (() => void)[] = [];
  /** Timer delays are multiplied by this (1 = the shared clock's rate). */
  drift = 1;

  constructor(
    readonly id: number,
    private readonly queue: EventQueue,
  ) {}

  /** Runs `fn` after `delayMs` in this incarnation: dropped if it dies first, held while paused. */
  schedule(delayMs: number, fn: () => void): void {
    const incarnation = this.incarnation;
    const run = () => {
      if (!this.alive || this.incarnation !== incarnation) return;
      if (this.queue.now < this.pausedUntil) {
        this.held.push(run);
        return;
      }
      fn();
    };
    this.queue.schedule(delayMs, run);
  }

  /** Resolves after `ms` in this incarnation; never, if the process dies first. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => this.schedule(ms, resolve));
  }

  paused(): boolean {
    return this.queue.now < this.pausedUntil;
  }

  /** Freezes the process for `ms`: nothing of it runs until then (or until resume()). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.queue.now + ms);
    this.queue.schedule(ms, () => {
      if (!this.paused()) this.release();
    });
  }

  /**
   * Ends a pause now: what was held runs at once (each as its own event, in order), not at the
   * time the pause would have ended. (Clearing the pause alone left everything that came due
   * during it waiting for the old end: a healed cluster kept a frozen member for up to 1.5 s.)
   */
  resume(): void {
    this.pausedUntil = 0;
    this.release();
  }

  private release(): void {
    const held = this.held;
    this.held = [];
    for (const run of held) this.queue.schedule(0, run);
  }

  /** The process's clock: the shared virtual time, with its timers drifted and gated. */
  clock(): Clock {
    const cancelled = new Set<number>();
    let nextId = 1;
    const clock: Clock = {
      now: () => this.queue.now,
      setTimeout: (fn: () => void, delayMs: number): TimerHandle => {
        const id = nextId++;
        this.schedule(Math.max(0, Math.round(delayMs * this.drift)), () => {
          if (cancelled.delete(id)) return;
          fn();
        });
        return { id };
      },
      clearTimeout: (handle: TimerHandle) => {
        cancelled.add(handle.id);
      },
      sleep: (delayMs: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, delayMs)),
    };
    return clock;
  }
}
