import type { Clock, Logger, TimerHandle } from "@shoal/base";
import { type EffectiveHealthcheck, HEALTH_OUTPUT_MAX_BYTES, initialHealth, nextHealth } from "./health.js";
import type { HealthReport } from "./types.js";

/** Runs one probe in the container; resolves with its exit code (-1 when it timed out) and output. */
export type HealthProbe = (
  argv: string[],
  timeoutMs: number,
) => Promise<{ exitCode: number; output: string }>;

export interface HealthMonitorDeps {
  check: EffectiveHealthcheck;
  clock: Clock;
  probe: HealthProbe;
  logger: Logger;
  /** When the container started: the start period counts from here. */
  startedAtMs: number;
  onChange?: (report: HealthReport) => void;
  /** Where to continue from (a report saved before the runtime restarted). */
  initial?: HealthReport;
}

/**
 * The thin shell around `nextHealth`: probes every interval (the next one is scheduled when the
 * previous one ends, so a slow probe never overlaps the next) and keeps the report.
 */
export class HealthMonitor {
  private report: HealthReport;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly deps: HealthMonitorDeps) {
    this.report = deps.initial ?? initialHealth();
  }

  current(): HealthReport {
    return this.report;
  }

  run(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => void this.probeOnce(), this.deps.check.intervalMs);
  }

  private async probeOnce(): Promise<void> {
    const { check, clock } = this.deps;
    const startedAtMs = clock.now();
    let exitCode: number;
    let output: string;
    try {
      ({ exitCode, output } = await this.deps.probe(check.argv, check.timeoutMs));
    } catch (err) {
      exitCode = -1;
      output = `probe failed: ${(err as Error).message}`;
    }
    if (this.stopped) return;
    const result = {
      startedAtMs,
      endedAtMs: clock.now(),
      exitCode,
      output: output.slice(0, HEALTH_OUTPUT_MAX_BYTES),
    };
    const before = this.report.status;
    this.report = nextHealth(this.report, result, {
      retries: check.retries,
      inStartPeriod: startedAtMs < this.deps.startedAtMs + check.startPeriodMs,
    });
    if (this.report.status !== before)
      this.deps.logger.info({ from: before, to: this.report.status }, "health changed");
    this.deps.onChange?.(this.report);
    this.schedule();
  }
}
