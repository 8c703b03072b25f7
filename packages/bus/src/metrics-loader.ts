import type { ShoalMetrics } from "./metrics.js";

/**
 * The process's metrics on a new registry, for a daemon that serves /metrics. prom-client (and
 * the @opentelemetry/api it loads) is imported here, on first use, not with the package: a daemon
 * without `--metrics-addr` never loads it (~95 KB of module text and its objects).
 */
export async function loadMetrics(): Promise<ShoalMetrics> {
  const { createMetrics } = await import("./metrics.js");
  return createMetrics();
}
