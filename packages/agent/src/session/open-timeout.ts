import type { Random } from "@shoal/base";

/** The most the open timeout grows to, as a multiple of the configured one. */
const MAX_GROWTH = 4;

/**
 * How long the agent waits for a dispatcher's session id, after `failures` sessions in a row
 * that ended without proving themselves. A manager that is gone fails the connection long before
 * this; the timeout is for one that accepted it and is slow, as a leader is while the whole fleet
 * reconnects to it. Giving up on it at the same fixed moment makes every agent redo its TLS
 * handshake together and adds to the load that made it slow, so the wait doubles with each
 * failure (up to 4×) and is spread over +0–20 % so that the agents do not give up in step.
 */
export function sessionOpenTimeoutMs(baseMs: number, failures: number, random: Pick<Random, "next">): number {
  const growth = Math.min(MAX_GROWTH, 2 ** Math.max(0, Math.min(failures, 30)));
  return Math.round(baseMs * growth * (1 + 0.2 * random.next()));
}
