import { type Diagnostics, StackErrorCode } from "./errors.js";
import type { FileObjectConfig, NetworkConfig, StackConfig, VolumeConfig } from "./model.js";
import {
  absolutePath,
  fail,
  isRecord,
  mappingOrList,
  type NormalizeContext,
  scalarString,
  warn,
} from "./normalize-context.js";
import { normalizeService } from "./normalize-service.js";
import { formatPath, type Path, type SourceMap } from "./source-map.js";
import { FORBIDDEN_SERVICE_KEYS, HANDLED_SERVICE_KEYS, IGNORED_SERVICE_KEYS } from "./swarm-keys.js";

/** Normalizes one validated, interpolated file. Problems go to ctx.diag. */
export function normalizeFile(ctx: NormalizeContext, raw: Record<string, unknown>): StackConfig {
  const out: StackConfig = {
    version: raw.version === undefined || raw.version === null ? "" : scalarString(raw.version),
    services: {},
    networks: {},
    volumes: {},
    secrets: {},
    configs: {},
    extensions: {},
  };
  for (const [key, value] of Object.entries(raw)) if (key.startsWith("x-")) out.extensions[key] = value;
  if (isRecord(raw.services)) {
    for (const [name, svc] of Object.entries(raw.services)) {
      const service = isRecord(svc) ? svc : {};
      checkSwarmKeys(ctx, name, service);
      out.services[name] = normalizeService(ctx, name, service);
    }
  }
  for (const [name, v] of entries(raw.networks))
    out.networks[name] = network(ctx, ["networks", name], name, v);
  for (const [name, v] of entries(raw.volumes)) out.volumes[name] = volume(ctx, ["volumes", name], name, v);
  for (const section of ["secrets", "configs"] as const) {
    for (const [name, v] of entries(raw[section]))
      out[section][name] = fileObject(ctx, [section, name], name, v);
  }
  return out;
}

function entries(v: unknown): Array<[string, Record<string, unknown>]> {
  if (!isRecord(v)) return [];
  return Object.entries(v).map(([k, item]) => [k, isRecord(item) ? item : {}]);
}

function checkSwarmKeys(ctx: NormalizeContext, name: string, service: Record<string, unknown>): void {
  for (const key of Object.keys(service)) {
    const ignored = IGNORED_SERVICE_KEYS[key];
    if (ignored !== undefined) warn(ctx, ["services", name, key], ignored);
    else if (!HANDLED_SERVICE_KEYS.has(key) && !(key in FORBIDDEN_SERVICE_KEYS) && !key.startsWith("x-")) {
      warn(ctx, ["services", name, key], "ignored: not supported in Shoal stacks");
    }
  }
}

/** `external: true`, `external: {name}` (deprecated) and `name:` combine into name + external. */
function external(
  ctx: NormalizeContext,
  path: Path,
  name: string,
  raw: Record<string, unknown>,
): { name?: string; external: boolean } {
  const ext = raw.external;
  if (isRecord(ext)) {
    if (ext.name !== undefined) {
      warn(
        ctx,
        [...path, "external", "name"],
        "external.name is deprecated: use name: together with external: true",
      );
      if (raw.name !== undefined && raw.name !== ext.name) {
        fail(ctx, [...path, "external", "name"], `conflicts with name ${JSON.stringify(raw.name)}`);
      }
    }
    return { name: scalarString(ext.name ?? raw.name ?? name), external: true };
  }
  if (ext === true) return { name: scalarString(raw.name ?? name), external: true };
  return raw.name !== undefined && raw.name !== null
    ? { name: scalarString(raw.name), external: false }
    : { external: false };
}

function network(
  ctx: NormalizeContext,
  path: Path,
  name: string,
  raw: Record<string, unknown>,
): NetworkConfig {
  const out: NetworkConfig = { ...raw, ...external(ctx, path, name, raw) };
  if (raw.driver_opts !== undefined) out.driver_opts = mappingOrList(raw.driver_opts, "=", "");
  if (raw.labels !== undefined) out.labels = mappingOrList(raw.labels, "=", "");
  if (out.external) {
    for (const key of ["driver", "driver_opts", "ipam", "internal", "attachable", "labels"]) {
      if (raw[key] !== undefined) fail(ctx, [...path, key], `cannot be set on an external network`);
    }
  }
  return out;
}

function volume(ctx: NormalizeContext, path: Path, name: string, raw: Record<string, unknown>): VolumeConfig {
  const out: VolumeConfig = { ...raw, ...external(ctx, path, name, raw) };
  if (raw.driver_opts !== undefined) out.driver_opts = mappingOrList(raw.driver_opts, "=", "");
  if (raw.labels !== undefined) out.labels = mappingOrList(raw.labels, "=", "");
  return out;
}

function fileObject(
  ctx: NormalizeContext,
  path: Path,
  name: string,
  raw: Record<string, unknown>,
): FileObjectConfig {
  const out: FileObjectConfig = { ...raw, ...external(ctx, path, name, raw) };
  if (raw.labels !== undefined) out.labels = mappingOrList(raw.labels, "=", "");
  if (raw.driver_opts !== undefined) out.driver_opts = mappingOrList(raw.driver_opts, "=", "");
  // Only resolved here; the file is read at deploy time (a missing one is an error then).
  if (typeof raw.file === "string") out.file = absolutePath(ctx, raw.file);
  return out;
}

/**
 * Keys Swarm refuses, checked before the schema as docker/cli does, so the user reads why the key
 * is refused rather than "unknown key". Returns whether any was found.
 */
export function checkForbiddenKeys(
  raw: Record<string, unknown>,
  positions: SourceMap,
  file: string,
  diag: Diagnostics,
): boolean {
  let found = false;
  if (!isRecord(raw.services)) return false;
  for (const [name, svc] of Object.entries(raw.services)) {
    if (!isRecord(svc)) continue;
    for (const key of Object.keys(svc)) {
      const why = FORBIDDEN_SERVICE_KEYS[key];
      if (why === undefined) continue;
      found = true;
      const path = ["services", name, key];
      const pos = positions.nearest(path);
      diag.error({
        code: StackErrorCode.ForbiddenKey,
        message: `${key} is not allowed in a stack: ${why}`,
        path: formatPath(path),
        ...(pos !== undefined ? { pos } : { file }),
      });
    }
  }
  return found;
}
