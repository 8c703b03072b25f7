import { randomBytes } from "node:crypto";

/** Length of object ids, as Swarm's: 128 random bits in base 36, left-padded. */
export const ID_LENGTH = 25;

/**
 * A new object id: 25 characters of [0-9a-z], URL- and DNS-safe, from 128 random bits.
 * Ids identify objects across the cluster, so they come from the OS, never from a seeded Random.
 */
export function newId(): string {
  const value = BigInt(`0x${randomBytes(16).toString("hex")}`);
  return value.toString(36).padStart(ID_LENGTH, "0");
}

/** True when `s` has the shape of an id made by `newId`. */
export function isId(s: string): boolean {
  return s.length === ID_LENGTH && /^[0-9a-z]+$/.test(s);
}
