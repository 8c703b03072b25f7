import type { Random } from "@shoal/base";

/** A dispatcher to dial: host:port and its weight (higher = preferred). */
export interface ManagerAddress {
  addr: string;
  weight: number;
}

/**
 * Picks a manager at random in proportion to its weight (swarmkit's weighted remotes), avoiding
 * `avoid` (the one that just failed) when any other is left. Non-positive weights count as 1: a
 * manager in the list is still a manager.
 */
export function pickManager(
  managers: readonly ManagerAddress[],
  random: Random,
  avoid?: string,
): ManagerAddress {
  const others = managers.filter((m) => m.addr !== avoid);
  const pool = others.length > 0 ? others : managers;
  const weights = pool.map((m) => (m.weight > 0 ? m.weight : 1));
  let r = random.next() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < pool.length; i++) {
    r -= weights[i] ?? 0;
    if (r < 0) return pool[i] as ManagerAddress;
  }
  return pool[pool.length - 1] as ManagerAddress;
}
