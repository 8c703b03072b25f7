import type { Random } from "@shoal/base";

/** Renewal happens at a random point in this span of the lifetime (Swarm's 50 %–80 %). */
export const RENEWAL_WINDOW_START = 0.5;
export const RENEWAL_WINDOW_END = 0.8;

export interface CertificateValidity {
  notBeforeMs: number;
  notAfterMs: number;
}

/**
 * When to renew a certificate: a random point between 50 % and 80 % of its lifetime, so that a
 * cluster whose nodes all joined at once does not renew all at once, and a failed renewal still
 * leaves a fifth of the lifetime to retry in.
 */
export function nextRenewalAtMs(validity: CertificateValidity, random: Random): number {
  const lifetimeMs = Math.max(0, validity.notAfterMs - validity.notBeforeMs);
  const fraction = RENEWAL_WINDOW_START + (RENEWAL_WINDOW_END - RENEWAL_WINDOW_START) * random.next();
  return validity.notBeforeMs + Math.floor(lifetimeMs * fraction);
}
