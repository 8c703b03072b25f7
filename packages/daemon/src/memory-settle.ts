// Gives a daemon's start-up (and any later burst of work) memory back once it is quiet: a few
// full, compacting GCs, spaced out. Without them an idle daemon runs none after its start (young
// collections only), so V8 keeps the bytecode and feedback of code that ran once (module top
// levels, init, joins) and the old generation's pages as the burst left them, fragmented. Each
// full GC ages the bytecode of functions that did not run since the last one; at V8's
// `--bytecode-old-age` (5) it is flushed, and a function that runs again is compiled again from
// its source. The compaction moves live objects off sparse pages so that V8 can release them.
// Figures (heap, RSS, CPU): packages/daemon/README.md, Memory. When it settles: settle-decision.ts.
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Clock, Logger, TimerHandle } from "@shoal/base";
import {
  initialSettleState,
  type SettleDecisionOptions,
  type SettleState,
  stepSettle,
} from "./settle-decision.js";

export interface MemorySettleOptions extends SettleDecisionOptions {
  /** How often the event loop's busy ratio is sampled. */
  sampleMs: number;
  /** Full GCs per settle: one more than V8's bytecode age, so unused bytecode is flushed. */
  rounds: number;
  /** Between two of a settle's GCs (the loop serves whatever came meanwhile). */
  roundSpacingMs: number;
}

export const DEFAULT_MEMORY_SETTLE: MemorySettleOptions = {
  sampleMs: 1000,
  busyRatio: 0.1,
  quietSamples: 2,
  cooldownMs: 60_000,
  rounds: 6,
  roundSpacingMs: 500,
};

export interface MemorySettleDeps {
  clock: Clock;
  logger: Logger;
  /** The event loop's busy ratio (0–1) since the previous call (`eventLoopBusyMeter`). */
  busyRatio: () => number;
  /** One full GC (`compactingFullGc`). */
  collect: () => void;
  options?: Partial<MemorySettleOptions>;
}

export class MemorySettle {
  private readonly options: MemorySettleOptions;
  private readonly logger: Logger;
  private state: SettleState = initialSettleState;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly deps: MemorySettleDeps) {
    this.options = { ...DEFAULT_MEMORY_SETTLE, ...deps.options };
    this.logger = deps.logger.child({ module: "daemon/memory-settle" });
  }

  /** Samples until `stop`. */
  start(): void {
    this.deps.busyRatio();
    this.arm(() => this.sample(), this.options.sampleMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(fn: () => void, delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(fn, delayMs);
  }

  private sample(): void {
    const step = stepSettle(this.state, this.deps.busyRatio(), this.deps.clock.now(), this.options);
    this.state = step.state;
    if (step.settle) this.round(1);
    else this.arm(() => this.sample(), this.options.sampleMs);
  }

  private round(n: number, gcMs = 0): void {
    const t0 = performance.now();
    this.deps.collect();
    const totalMs = gcMs + performance.now() - t0;
    if (n === this.options.rounds) {
      this.logger.debug({ rounds: n, gcMs: Math.round(totalMs) }, "memory settled");
      // The GCs' own time is not work: the next sample starts after them.
      this.deps.busyRatio();
      this.arm(() => this.sample(), this.options.sampleMs);
      return;
    }
    this.arm(() => this.round(n + 1, totalMs), this.options.roundSpacingMs);
  }
}

/** The event loop's busy ratio since the previous call (Node's event loop utilization). */
export function eventLoopBusyMeter(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const ratio = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return ratio;
  };
}

/**
 * A full GC that also compacts (V8 otherwise compacts only under its own heuristics, which a
 * small heap rarely meets) and flushes the bytecode of every function that has not run since the
 * previous full GC (a settle's rounds are that close: V8's own age of 5 GCs flushed nothing in
 * six rounds, 1 flushes ~0.6 MiB). Both flags hold during this GC only, so the GCs of a working
 * daemon keep V8's defaults. `gc` is exposed to a context of its own, not to the daemon's global.
 */
export function compactingFullGc(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    setFlagsFromString("--compact-on-every-full-gc");
    setFlagsFromString("--bytecode-old-age=1");
    try {
      gc();
    } finally {
      setFlagsFromString("--bytecode-old-age=5");
      setFlagsFromString("--no-compact-on-every-full-gc");
    }
  };
}
