/**
 * Placement constraints: `key==value` or `key!=value` (spaces around the operator allowed), as in
 * Swarm. The scheduler parses them with the same function, so what validation accepts is exactly
 * what placement understands.
 */
export interface Constraint {
  key: string;
  operator: "==" | "!=";
  value: string;
}

export type ConstraintParse = { ok: true; constraint: Constraint } | { ok: false; reason: string };

/** Keys a constraint or spread preference may use; `<name>` stands for any label name. */
export const CONSTRAINT_KEYS = [
  "node.id",
  "node.hostname",
  "node.role",
  "node.platform.os",
  "node.platform.arch",
  "node.labels.<name>",
  "engine.labels.<name>",
] as const;

const LABEL_KEY_PREFIXES = ["node.labels.", "engine.labels."];

/** Whether `key` is one of CONSTRAINT_KEYS (label keys with a non-empty name). */
export function isConstraintKey(key: string): boolean {
  if (CONSTRAINT_KEYS.includes(key as (typeof CONSTRAINT_KEYS)[number])) return true;
  return LABEL_KEY_PREFIXES.some((prefix) => key.startsWith(prefix) && key.length > prefix.length);
}

export function describeConstraintKeys(): string {
  return `${CONSTRAINT_KEYS.slice(0, -1).join(", ")} or ${CONSTRAINT_KEYS[CONSTRAINT_KEYS.length - 1]}`;
}

export function parseConstraint(text: string): ConstraintParse {
  const quoted = JSON.stringify(text);
  const match = /^(.*?)(==|!=)(.*)$/.exec(text);
  if (match === null) {
    return { ok: false, reason: `${quoted} is not a valid constraint; use key==value or key!=value` };
  }
  const key = (match[1] as string).trim();
  const operator = match[2] as "==" | "!=";
  const value = (match[3] as string).trim();
  if (key === "" || value.includes("==") || value.includes("!=")) {
    return { ok: false, reason: `${quoted} is not a valid constraint; use key==value or key!=value` };
  }
  if (!isConstraintKey(key)) {
    return { ok: false, reason: `${quoted} has unknown key "${key}"; use ${describeConstraintKeys()}` };
  }
  if (value === "") return { ok: false, reason: `${quoted} has an empty value` };
  if (key === "node.role" && value !== "manager" && value !== "worker") {
    return { ok: false, reason: `${quoted} compares node.role with "${value}"; use manager or worker` };
  }
  return { ok: true, constraint: { key, operator, value } };
}
