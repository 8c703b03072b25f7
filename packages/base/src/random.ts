import { randomBytes } from "node:crypto";
import { BaseErrorCode, ShoalError } from "./errors.js";

/**
 * Randomness as a dependency. Decision code takes a Random so that the same seed gives the same
 * run; `split()` hands an independent stream to a sub-component without disturbing this one.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** An integer in [minInclusive, maxInclusive]. */
  intBetween(minInclusive: number, maxInclusive: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[];
  /** A new, independent generator seeded from this one. */
  split(): Random;
}

/** sfc32: small, fast, passes PractRand; state is four 32-bit words. */
class Sfc32Random implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    // Mix the seed in before use: nearby seeds must not give nearby streams.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(maxExclusive: number): number {
    if (!(maxExclusive > 0)) {
      throw new ShoalError(BaseErrorCode.EmptyRange, `random int range [0, ${maxExclusive}) is empty`);
    }
    return Math.floor(this.next() * maxExclusive);
  }

  intBetween(minInclusive: number, maxInclusive: number): number {
    return minInclusive + this.int(maxInclusive - minInclusive + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new ShoalError(BaseErrorCode.EmptyRange, "cannot pick from an empty list");
    return items[this.int(items.length)] as T;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  split(): Random {
    return new Sfc32Random(this.nextUint32(), this.nextUint32(), this.nextUint32(), this.nextUint32());
  }
}

/** A deterministic generator: the same seed always gives the same sequence. */
export function seededRandom(seed: number): Random {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return new Sfc32Random(0x9e3779b9, lo, hi, 0x85ebca6b ^ lo);
}

/** A generator seeded from the operating system, for production use. */
export function systemRandom(): Random {
  const seed = randomBytes(16);
  return new Sfc32Random(
    seed.readUInt32LE(0),
    seed.readUInt32LE(4),
    seed.readUInt32LE(8),
    seed.readUInt32LE(12),
  );
}
