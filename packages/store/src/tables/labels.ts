import { keysCachedWhenFrozen } from "./frozen-keys.js";

/** Label index keys: `key` for "has label", `key=value` for "label equals". */
export const labelKeys = keysCachedWhenFrozen<Record<string, string>>((labels) =>
  labels === undefined ? [] : Object.keys(labels).sort(),
);

export const labelValueKeys = keysCachedWhenFrozen<Record<string, string>>((labels) => {
  if (labels === undefined) return [];
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
});

/** Distinct non-empty values, sorted (index keys must not repeat). */
export function distinct(values: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const v of values) if (v !== "") set.add(v);
  return [...set].sort();
}
