import { setTimeout as sleep } from "node:timers/promises";
import { ShoalError } from "@shoal/base";
import { TestkitErrorCode } from "./errors.js";

export interface WaitForOptions {
  /** What is awaited, as a person would say it: "node h2 to report ready". Goes into the error. */
  description: string;
  /** Default 10 000. A generous bound for end-to-end tests, not a timing assertion. */
  timeoutMs?: number | undefined;
  /** Pause between attempts. Default 50. */
  intervalMs?: number | undefined;
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | "">;

/** How long waitFor polls when the options do not say. */
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
/** How often waitFor polls when the options do not say. */
export const DEFAULT_WAIT_INTERVAL_MS = 50;

/**
 * Polls `predicate` until it returns a truthy value, which it resolves with. A throwing predicate
 * counts as "not yet"; the last error is kept and reported if the wait gives up.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<Truthy<Awaited<T>>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    attempts++;
    try {
      const value = await predicate();
      if (value) return value as Truthy<Awaited<T>>;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const last =
    lastError !== undefined
      ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      : `last value: ${JSON.stringify(lastValue) ?? String(lastValue)}`;
  throw new ShoalError(
    TestkitErrorCode.WaitTimeout,
    `timed out after ${timeoutMs} ms waiting for ${options.description} (${attempts} attempts; ${last})`,
    { cause: lastError, details: { description: options.description, timeoutMs, attempts } },
  );
}
