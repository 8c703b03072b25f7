/** Label index keys: `key` for "has label", `key=value` for "label equals". */
export function labelKeys(labels: Record<string, string> | undefined): string[] {
  return labels === undefined ? [] : Object.keys(labels).sort();
}

export function labelValueKeys(labels: Record<string, string> | undefined): string[] {
  if (labels === undefined) return [];
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
}

/** Distinct non-empty values, sorted (index keys must not repeat). */
export function distinct(values: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const v of values) if (v !== "") set.add(v);
  return [...set].sort();
}
