import { ipVersion, isCidr } from "./ip.js";

/**
 * Placement constraints: `key==value` or `key!=value` (spaces around the operator allowed), as in
 * Swarm. This is the language's only parser: spec validation reports its reasons as issues, and
 * @shoal/scheduler compiles what it accepts (`compileConstraint`: key to node attribute, address
 * to bytes) and refuses the rest with the same reason.
 */
export interface Constraint {
  key: string;
  operator: "==" | "!=";
  value: string;
}

export type ConstraintParse = { ok: true; constraint: Constraint } | { ok: false; reason: string };

/** Keys a constraint may use; `<name>` stands for any label name. */
export const CONSTRAINT_KEYS = [
  "node.id",
  "node.hostname",
  "node.role",
  "node.platform.os",
  "node.platform.arch",
  "node.ip",
  "node.labels.<name>",
  "engine.labels.<name>",
] as const;

/** Keys a spread preference may use: an id or an address would give every node its own group. */
export const SPREAD_KEYS = CONSTRAINT_KEYS.filter((k) => k !== "node.id" && k !== "node.ip");

// Swarm's key alphabet; label names are matched case-sensitively.
const KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const LABEL_KEY_PREFIXES = ["node.labels.", "engine.labels."];

function isKnownKey(key: string, keys: readonly string[]): boolean {
  if (!KEY_PATTERN.test(key)) return false;
  if (keys.includes(key)) return true;
  return LABEL_KEY_PREFIXES.some((prefix) => key.startsWith(prefix) && key.length > prefix.length);
}

/** Whether `key` is one of CONSTRAINT_KEYS (label keys with a non-empty name). */
export function isConstraintKey(key: string): boolean {
  return isKnownKey(key, CONSTRAINT_KEYS);
}

/** Whether a spread preference may name `key` (SPREAD_KEYS). */
export function isSpreadKey(key: string): boolean {
  return isKnownKey(key, SPREAD_KEYS);
}

function describeKeys(keys: readonly string[]): string {
  return `${keys.slice(0, -1).join(", ")} or ${keys[keys.length - 1]}`;
}

export function describeConstraintKeys(): string {
  return describeKeys(CONSTRAINT_KEYS);
}

export function describeSpreadKeys(): string {
  return describeKeys(SPREAD_KEYS);
}

export function parseConstraint(text: string): ConstraintParse {
  const quoted = JSON.stringify(text);
  const syntax = {
    ok: false,
    reason: `${quoted} is not a valid constraint; use key==value or key!=value`,
  } as const;
  // The first operator splits key from value.
  const eq = text.indexOf("==");
  const ne = text.indexOf("!=");
  const at = eq >= 0 && (ne < 0 || eq < ne) ? eq : ne;
  if (at < 0) return syntax;
  const key = text.slice(0, at).trim();
  const operator = text.slice(at, at + 2) as "==" | "!=";
  const value = text.slice(at + 2).trim();
  if (key === "" || value.includes("==") || value.includes("!=")) return syntax;
  if (!isConstraintKey(key)) {
    return { ok: false, reason: `${quoted} has unknown key "${key}"; use ${describeConstraintKeys()}` };
  }
  if (value === "") return { ok: false, reason: `${quoted} has an empty value` };
  // Values compare case-insensitively (Swarm's rule), so "Manager" is a role too.
  const lower = value.toLowerCase();
  if (key === "node.role" && lower !== "manager" && lower !== "worker") {
    return { ok: false, reason: `${quoted} compares node.role with "${value}"; use manager or worker` };
  }
  if (key === "node.ip" && ipVersion(value) === 0 && !isCidr(value)) {
    return {
      ok: false,
      reason: `${quoted} compares node.ip with "${value}", which is neither an IP address nor a CIDR network`,
    };
  }
  return { ok: true, constraint: { key, operator, value } };
}
