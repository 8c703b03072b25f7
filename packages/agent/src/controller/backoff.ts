import type { Random } from "@shoal/base";

/** Delays of the session's reconnects and of the controller's transient retries (DESIGN.md §5). */
export const DEFAULT_BACKOFF_MIN_MS = 100;
export const DEFAULT_BACKOFF_MAX_MS = 8_000;

export interface BackoffRange {
  minMs: number;
  maxMs: number;
}

/**
 * Delay before attempt number `attempt` (0 = the first retry): exponential from `minMs`, capped at
 * `maxMs`, and randomized over the upper half of that step so that many agents that lost the same
 * manager do not come back at the same instant (a thundering herd on the survivor).
 */
export function backoffDelayMs(
  attempt: number,
  random: Random,
  range: BackoffRange = { minMs: DEFAULT_BACKOFF_MIN_MS, maxMs: DEFAULT_BACKOFF_MAX_MS },
): number {
  const step = Math.min(range.maxMs, range.minMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(step / 2 + random.next() * (step / 2));
}
