import type { Random } from "@shoal/base";

/**
 * Tie-break keys for one group: a mulberry32 stream seeded from the caller's Random. The hot loop
 * draws one key per candidate node per group (ten million for the 1M-task benchmark), and int32
 * state keeps this to a few nanoseconds; the group's seed still comes from the caller's Random, so
 * the same seed gives the same placements.
 */
export class TieBreakStream {
  private state: number;

  constructor(random: Random) {
    this.state = random.int(0x7fffffff) | 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
