import { parseCpus } from "./cpus.js";
import type { DeployConfig, ResourceSpec, UpdateConfig } from "./model.js";
import {
  fail,
  isRecord,
  mappingOrList,
  type NormalizeContext,
  normalizeBytes,
  normalizeDuration,
  scalarString,
  warn,
} from "./normalize-context.js";
import type { Path } from "./source-map.js";

const DEPLOY_KEYS = new Set([
  "mode",
  "replicas",
  "labels",
  "update_config",
  "rollback_config",
  "resources",
  "restart_policy",
  "placement",
  "endpoint_mode",
]);

/** Normalizes `deploy:`; durations, byte sizes and CPU strings are checked here. */
export function normalizeDeploy(
  ctx: NormalizeContext,
  path: Path,
  raw: Record<string, unknown>,
): DeployConfig {
  const out: DeployConfig = {};
  for (const key of Object.keys(raw)) {
    if (!DEPLOY_KEYS.has(key) && !key.startsWith("x-"))
      warn(ctx, [...path, key], "ignored: not supported in Shoal stacks");
  }
  if (raw.mode !== undefined && raw.mode !== null) out.mode = scalarString(raw.mode);
  if (typeof raw.replicas === "number") out.replicas = raw.replicas;
  if (raw.labels !== undefined && raw.labels !== null) out.labels = mappingOrList(raw.labels, "=", "");
  for (const key of ["update_config", "rollback_config"] as const) {
    const v = raw[key];
    if (isRecord(v)) out[key] = updateConfig(ctx, [...path, key], v);
  }
  if (isRecord(raw.resources)) {
    const resources: NonNullable<DeployConfig["resources"]> = {};
    for (const key of ["limits", "reservations"] as const) {
      const v = raw.resources[key];
      if (isRecord(v)) resources[key] = resourceSpec(ctx, [...path, "resources", key], v);
    }
    out.resources = resources;
  }
  if (isRecord(raw.restart_policy)) {
    const r = raw.restart_policy;
    const policy: NonNullable<DeployConfig["restart_policy"]> = {};
    if (r.condition !== undefined && r.condition !== null) policy.condition = scalarString(r.condition);
    const delay = normalizeDuration(ctx, [...path, "restart_policy", "delay"], r.delay);
    if (delay !== undefined) policy.delay = delay;
    if (typeof r.max_attempts === "number") policy.max_attempts = r.max_attempts;
    const window = normalizeDuration(ctx, [...path, "restart_policy", "window"], r.window);
    if (window !== undefined) policy.window = window;
    out.restart_policy = policy;
  }
  if (isRecord(raw.placement)) {
    const p = raw.placement;
    const placement: NonNullable<DeployConfig["placement"]> = {};
    if (Array.isArray(p.constraints)) placement.constraints = p.constraints.map(scalarString);
    if (Array.isArray(p.preferences)) {
      placement.preferences = p.preferences
        .filter(isRecord)
        .map((pref) => ({ spread: scalarString(pref.spread) }));
    }
    if (typeof p.max_replicas_per_node === "number")
      placement.max_replicas_per_node = p.max_replicas_per_node;
    out.placement = placement;
  }
  if (raw.endpoint_mode !== undefined && raw.endpoint_mode !== null)
    out.endpoint_mode = scalarString(raw.endpoint_mode);
  return out;
}

function updateConfig(ctx: NormalizeContext, path: Path, raw: Record<string, unknown>): UpdateConfig {
  const out: UpdateConfig = {};
  if (typeof raw.parallelism === "number") out.parallelism = raw.parallelism;
  const delay = normalizeDuration(ctx, [...path, "delay"], raw.delay);
  if (delay !== undefined) out.delay = delay;
  if (raw.failure_action !== undefined && raw.failure_action !== null)
    out.failure_action = scalarString(raw.failure_action);
  const monitor = normalizeDuration(ctx, [...path, "monitor"], raw.monitor);
  if (monitor !== undefined) out.monitor = monitor;
  if (typeof raw.max_failure_ratio === "number") out.max_failure_ratio = raw.max_failure_ratio;
  if (raw.order !== undefined && raw.order !== null) out.order = scalarString(raw.order);
  return out;
}

function resourceSpec(ctx: NormalizeContext, path: Path, raw: Record<string, unknown>): ResourceSpec {
  const out: ResourceSpec = {};
  if (raw.cpus !== undefined && raw.cpus !== null) {
    const cpus = scalarString(raw.cpus);
    if (parseCpus(cpus) === undefined) {
      fail(
        ctx,
        [...path, "cpus"],
        `must be a number of CPUs such as "0.5" or "2", got ${JSON.stringify(cpus)}`,
      );
    } else out.cpus = cpus;
  }
  const memory = normalizeBytes(ctx, [...path, "memory"], raw.memory);
  if (memory !== undefined) out.memory = memory;
  if (typeof raw.pids === "number") out.pids = raw.pids;
  if (raw.devices !== undefined) {
    warn(ctx, [...path, "devices"], "ignored: device reservations are not supported; use generic_resources");
  }
  if (Array.isArray(raw.generic_resources)) {
    out.generic_resources = raw.generic_resources.filter(isRecord).map((g) => {
      const spec = isRecord(g.discrete_resource_spec) ? g.discrete_resource_spec : {};
      return { discrete_resource_spec: { kind: scalarString(spec.kind), value: Number(spec.value) } };
    });
  }
  return out;
}
