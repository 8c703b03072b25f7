import { isAbsolute, resolve } from "node:path";
import { formatDurationMs, parseBytes, parseDurationMs } from "@shoal/base";
import { type Diagnostics, StackErrorCode } from "./errors.js";
import type { LookupEnv } from "./interpolate.js";
import { describeValue } from "./schema.js";
import { formatPath, type Path, type SourceMap } from "./source-map.js";

/** Reads a file referenced by a stack file; undefined when it does not exist or cannot be read. */
export type ReadTextFile = (absolutePath: string) => string | undefined;

/** What normalizing one file needs: where it is, how to report, how to read what it references. */
export interface NormalizeContext {
  file: string;
  positions: SourceMap;
  diag: Diagnostics;
  /** Directory of the first stack file: relative paths in every file resolve against it. */
  workingDir: string;
  lookup: LookupEnv;
  readFile: ReadTextFile;
}

export function fail(
  ctx: NormalizeContext,
  path: Path,
  message: string,
  code: string = StackErrorCode.ValueInvalid,
): void {
  const pos = ctx.positions.nearest(path);
  ctx.diag.error({
    code: code as StackErrorCode,
    message,
    path: formatPath(path),
    ...(pos !== undefined ? { pos } : { file: ctx.file }),
  });
}

export function warn(ctx: NormalizeContext, path: Path, message: string): void {
  const pos = ctx.positions.nearest(path);
  ctx.diag.warn({
    code: StackErrorCode.ValueInvalid,
    message,
    path: formatPath(path),
    ...(pos !== undefined ? { pos } : { file: ctx.file }),
  });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function scalarString(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : String(v);
}

/** `string | string[]` → string[] (dns, dns_search, tmpfs, env_file, …). */
export function stringList(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v.map(scalarString) : [scalarString(v)];
}

/**
 * `["K=V", "K2"]` or `{K: V, K2: null}` → map. `nullAs` is what a key without value becomes:
 * null for environment (filled from the environment later), "" for labels and sysctls.
 */
export function mappingOrList<N extends string | null>(
  v: unknown,
  sep: string,
  nullAs: N,
): Record<string, string | N> {
  const out: Record<string, string | N> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = scalarString(item);
      const i = s.indexOf(sep);
      if (i < 0) out[s] = nullAs;
      else out[s.slice(0, i)] = s.slice(i + sep.length);
    }
  } else if (isRecord(v)) {
    for (const [k, val] of Object.entries(v))
      out[k] = val === null || val === undefined ? nullAs : scalarString(val);
  }
  return out;
}

/** Parses and re-formats a duration the way Go prints it ("60s" → "1m0s"). */
export function normalizeDuration(ctx: NormalizeContext, path: Path, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number") {
    // The compose spec allows a bare number of seconds in a few places; docker's schema does not.
    return formatDurationMs(v * 1000);
  }
  try {
    return formatDurationMs(parseDurationMs(String(v)));
  } catch {
    fail(ctx, path, `must be a duration such as "10s" or "1m30s", got ${describeValue(v)}`);
    return undefined;
  }
}

export function normalizeBytes(ctx: NormalizeContext, path: Path, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  try {
    return parseBytes(typeof v === "number" ? v : String(v));
  } catch {
    fail(ctx, path, `must be a byte size such as "512M" or "2g", got ${describeValue(v)}`);
    return undefined;
  }
}

/** `~` → $HOME, relative → absolute against the working directory. */
export function absolutePath(ctx: NormalizeContext, p: string): string {
  let out = p;
  if (out === "~" || out.startsWith("~/")) {
    const home = ctx.lookup("HOME");
    if (home !== undefined) out = home + out.slice(1);
  }
  return isAbsolute(out) ? out : resolve(ctx.workingDir, out);
}
