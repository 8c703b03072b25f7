import { ShoalError } from "@shoal/base";
import type { ImageHealthcheck } from "../image/types.js";
import { ContainerErrorCode } from "./errors.js";
import { type HealthcheckSpec, type HealthProbeResult, type HealthReport, HealthStatus } from "./types.js";

/** Docker's defaults for fields neither the spec nor the image sets. */
export const HEALTH_DEFAULTS = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  retries: 3,
  startPeriodMs: 0,
} as const;
/** Probe results kept in the report, as Docker keeps five. */
export const HEALTH_LOG_LENGTH = 5;
/** Output kept per probe; a chatty check must not grow the state without bound. */
export const HEALTH_OUTPUT_MAX_BYTES = 4096;

export interface EffectiveHealthcheck {
  /** What runs inside the container. */
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

/**
 * The spec's check, field by field over the image's;
 * undefined when there is no check or it is disabled with NONE.
 */
export function resolveHealthcheck(
  spec: HealthcheckSpec | undefined,
  image: ImageHealthcheck | undefined,
): EffectiveHealthcheck | undefined {
  const test = spec?.test !== undefined && spec.test.length > 0 ? spec.test : (image?.test ?? []);
  if (test.length === 0 || test[0] === "NONE") return undefined;
  let argv: string[];
  if (test[0] === "CMD") argv = test.slice(1);
  else if (test[0] === "CMD-SHELL") argv = ["/bin/sh", "-c", test.slice(1).join(" ")];
  else
    throw new ShoalError(
      ContainerErrorCode.InvalidSpec,
      `healthcheck test must start with CMD, CMD-SHELL or NONE, not "${test[0]}"`,
    );
  if (argv.length === 0)
    throw new ShoalError(ContainerErrorCode.InvalidSpec, "healthcheck test has no command after its kind");
  const pick = (a: number | undefined, b: number | undefined, d: number) =>
    a !== undefined && a > 0 ? a : b !== undefined && b > 0 ? b : d;
  return {
    argv,
    intervalMs: pick(spec?.intervalMs, image?.intervalMs, HEALTH_DEFAULTS.intervalMs),
    timeoutMs: pick(spec?.timeoutMs, image?.timeoutMs, HEALTH_DEFAULTS.timeoutMs),
    retries: pick(spec?.retries, image?.retries, HEALTH_DEFAULTS.retries),
    startPeriodMs: pick(spec?.startPeriodMs, image?.startPeriodMs, HEALTH_DEFAULTS.startPeriodMs),
  };
}

export function initialHealth(): HealthReport {
  return { status: HealthStatus.Starting, failingStreak: 0, log: [] };
}

/**
 * One probe's effect on the report. A success makes the container healthy at once; failures count
 * towards `retries` except while still starting inside the start period (a slow boot is not a
 * failure), which is Docker's rule.
 */
export function nextHealth(
  report: HealthReport,
  result: HealthProbeResult,
  opts: { retries: number; inStartPeriod: boolean },
): HealthReport {
  const log = [...report.log, result].slice(-HEALTH_LOG_LENGTH);
  if (result.exitCode === 0) return { status: HealthStatus.Healthy, failingStreak: 0, log };
  if (opts.inStartPeriod && report.status === HealthStatus.Starting) return { ...report, log };
  const failingStreak = report.failingStreak + 1;
  const status = failingStreak >= opts.retries ? HealthStatus.Unhealthy : report.status;
  return { status, failingStreak, log };
}
