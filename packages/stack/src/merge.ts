import type { ServiceConfig, StackConfig } from "./model.js";
import { isRecord } from "./normalize-context.js";

/** Lists replaced as a whole by a later file rather than appended to. */
const REPLACED_LISTS = new Set(["command", "entrypoint", "healthcheck.test", "env_file"]);

/** Lists of objects merged by a key: a later entry for the same key replaces the earlier one. */
const KEYED_LISTS: Record<string, (item: Record<string, unknown>) => string> = {
  ports: (p) => `${String(p.target)}/${String(p.protocol ?? "tcp")}`,
  volumes: (v) => String(v.target),
  secrets: (s) => String(s.target ?? s.source),
  configs: (c) => String(c.target ?? c.source),
};

/**
 * Merges normalized files in order, as Compose does: maps merge key by key, scalars from later
 * files win, lists of ports/volumes/secrets/configs merge by target, command/entrypoint are
 * replaced, and other lists (dns, cap_add, constraints, …) are appended without duplicates.
 */
export function mergeConfigs(configs: readonly StackConfig[]): StackConfig {
  const [first, ...rest] = configs;
  if (first === undefined) throw new Error("mergeConfigs needs at least one config");
  if (rest.length === 0) return first;
  let out = structuredClone(first);
  for (const next of rest) {
    out = {
      version: next.version !== "" ? next.version : out.version,
      services: mergeMaps(out.services, next.services, (a, b) => mergeService(a, b)),
      networks: mergeMaps(out.networks, next.networks, (a, b) => deepMerge(a, b, "") as typeof a),
      volumes: mergeMaps(out.volumes, next.volumes, (a, b) => deepMerge(a, b, "") as typeof a),
      secrets: mergeMaps(out.secrets, next.secrets, (a, b) => deepMerge(a, b, "") as typeof a),
      configs: mergeMaps(out.configs, next.configs, (a, b) => deepMerge(a, b, "") as typeof a),
      extensions: { ...out.extensions, ...structuredClone(next.extensions) },
    };
  }
  return out;
}

function mergeMaps<T>(
  a: Record<string, T>,
  b: Record<string, T>,
  merge: (x: T, y: T) => T,
): Record<string, T> {
  const out: Record<string, T> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? merge(out[k] as T, v) : structuredClone(v);
  return out;
}

function mergeService(a: ServiceConfig, b: ServiceConfig): ServiceConfig {
  return deepMerge(a, b, "") as ServiceConfig;
}

function deepMerge(a: unknown, b: unknown, path: string): unknown {
  if (b === undefined) return structuredClone(a);
  if (isRecord(a) && isRecord(b)) {
    const out: Record<string, unknown> = structuredClone(a);
    for (const [k, v] of Object.entries(b)) {
      const childPath = path === "" ? k : `${path}.${k}`;
      out[k] = k in out ? deepMerge(out[k], v, childPath) : structuredClone(v);
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (REPLACED_LISTS.has(path)) return structuredClone(b);
    const keyOf = KEYED_LISTS[path];
    if (keyOf !== undefined) {
      const byKey = new Map<string, unknown>();
      for (const item of [...a, ...b])
        byKey.set(isRecord(item) ? keyOf(item) : JSON.stringify(item), structuredClone(item));
      return [...byKey.values()];
    }
    const seen = new Set(a.map((x) => JSON.stringify(x)));
    return [...structuredClone(a), ...structuredClone(b).filter((x) => !seen.has(JSON.stringify(x)))];
  }
  return structuredClone(b);
}
