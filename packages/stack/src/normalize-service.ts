import { parseEnvFile } from "./env-file.js";
import { StackErrorCode } from "./errors.js";
import type {
  FileReference,
  HealthcheckConfig,
  ServiceConfig,
  ServiceNetwork,
  VolumeMount,
} from "./model.js";
import {
  absolutePath,
  fail,
  isRecord,
  mappingOrList,
  type NormalizeContext,
  normalizeBytes,
  normalizeDuration,
  scalarString,
  stringList,
} from "./normalize-context.js";
import { normalizeDeploy } from "./normalize-deploy.js";
import { expandPortSpec, type PortConfig } from "./ports.js";
import { splitShellWords } from "./shell-words.js";
import type { Path } from "./source-map.js";
import { parseVolumeSpec } from "./volumes.js";

/**
 * Expands one service's Compose shorthand into the normalized model. Keys this function does not
 * know are copied unchanged (they are ignored with a warning (see swarm-keys.ts), or
 * extensions).
 */
export function normalizeService(
  ctx: NormalizeContext,
  name: string,
  raw: Record<string, unknown>,
): ServiceConfig {
  const base: Path = ["services", name];
  const out: ServiceConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    const path = [...base, key];
    switch (key) {
      case "command":
      case "entrypoint": {
        const words = shellCommand(ctx, path, value);
        if (words !== undefined) out[key] = words;
        break;
      }
      case "environment":
      case "env_file":
        break; // resolved together below
      case "labels":
        out.labels = mappingOrList(value, "=", "");
        break;
      case "ports":
        out.ports = ports(ctx, path, value);
        break;
      case "expose":
        out.expose = stringList(value);
        break;
      case "volumes":
        out.volumes = volumes(ctx, path, value);
        break;
      case "secrets":
      case "configs":
        out[key] = fileReferences(value);
        break;
      case "networks":
        out.networks = networks(value);
        break;
      case "deploy":
        if (isRecord(value)) out.deploy = normalizeDeploy(ctx, path, value);
        break;
      case "healthcheck":
        if (isRecord(value)) out.healthcheck = healthcheck(ctx, path, value);
        break;
      case "stop_grace_period": {
        const d = normalizeDuration(ctx, path, value);
        if (d !== undefined) out.stop_grace_period = d;
        break;
      }
      case "extra_hosts":
        out.extra_hosts = Array.isArray(value)
          ? value.map(scalarString)
          : Object.entries(isRecord(value) ? value : {}).flatMap(([host, ip]) =>
              (Array.isArray(ip) ? ip : [ip]).map((one) => `${host}:${scalarString(one)}`),
            );
        break;
      case "dns":
      case "dns_search":
      case "dns_opt":
      case "tmpfs":
      case "group_add":
        out[key] = stringList(value);
        break;
      case "sysctls":
        out.sysctls = mappingOrList(value, "=", "");
        break;
      case "ulimits":
        out.ulimits = ulimits(value);
        break;
      case "logging":
        if (isRecord(value)) {
          const logging: NonNullable<ServiceConfig["logging"]> = {};
          if (value.driver !== undefined && value.driver !== null)
            logging.driver = scalarString(value.driver);
          if (isRecord(value.options)) logging.options = mappingOrList(value.options, "=", "");
          out.logging = logging;
        }
        break;
      case "user":
      case "hostname":
      case "working_dir":
      case "image":
      case "stop_signal":
        if (value !== null) out[key] = scalarString(value);
        break;
      default:
        out[key] = value;
    }
  }
  const environment = resolveEnvironment(ctx, base, raw);
  if (environment !== undefined) out.environment = environment;
  if (raw.env_file !== undefined && raw.env_file !== null) out.env_file = envFilePaths(raw.env_file);
  return out;
}

function shellCommand(ctx: NormalizeContext, path: Path, value: unknown): string[] | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(scalarString);
  const words = splitShellWords(scalarString(value));
  if (words === undefined) fail(ctx, path, `unterminated quote in ${JSON.stringify(value)}`);
  return words;
}

function ports(ctx: NormalizeContext, path: Path, value: unknown): PortConfig[] {
  const out: PortConfig[] = [];
  if (!Array.isArray(value)) return out;
  value.forEach((item, i) => {
    if (typeof item === "number" || typeof item === "string") {
      const expanded = expandPortSpec(String(item));
      if (expanded === undefined) fail(ctx, [...path, i], `invalid port ${JSON.stringify(String(item))}`);
      else out.push(...expanded);
      return;
    }
    if (!isRecord(item)) return;
    const target = Number(item.target);
    if (!Number.isInteger(target) || target < 1 || target > 65535) {
      fail(ctx, [...path, i, "target"], `port must be 1 to 65535, got ${scalarString(item.target)}`);
      return;
    }
    const p: PortConfig = {
      mode: item.mode === "host" ? "host" : "ingress",
      target,
      protocol: (scalarString(item.protocol || "tcp").toLowerCase() as PortConfig["protocol"]) || "tcp",
    };
    if (item.published !== undefined && item.published !== null && item.published !== "") {
      const published = Number(item.published);
      if (!Number.isInteger(published) || published < 1 || published > 65535) {
        fail(
          ctx,
          [...path, i, "published"],
          `port must be 1 to 65535, got ${JSON.stringify(item.published)}`,
        );
        return;
      }
      p.published = published;
    }
    if (typeof item.host_ip === "string" && item.host_ip !== "") p.host_ip = item.host_ip;
    out.push(p);
  });
  return out;
}

function volumes(ctx: NormalizeContext, path: Path, value: unknown): VolumeMount[] {
  const out: VolumeMount[] = [];
  if (!Array.isArray(value)) return out;
  value.forEach((item, i) => {
    let mount: VolumeMount | undefined;
    if (typeof item === "string") {
      const parsed = parseVolumeSpec(item);
      if (typeof parsed === "string") {
        fail(ctx, [...path, i], parsed);
        return;
      }
      mount = parsed;
    } else if (isRecord(item)) {
      mount = { ...(item as unknown as VolumeMount) };
      if (isRecord(item.tmpfs)) {
        const size = normalizeBytes(ctx, [...path, i, "tmpfs", "size"], item.tmpfs.size);
        mount.tmpfs = { ...(item.tmpfs as object) };
        if (size !== undefined) mount.tmpfs.size = size;
      }
    }
    if (mount === undefined) return;
    if (mount.type === "bind") {
      if (mount.source === undefined || mount.source === "") {
        fail(ctx, [...path, i], "a bind mount needs a source path");
        return;
      }
      mount.source = absolutePath(ctx, mount.source);
    }
    out.push(mount);
  });
  return out;
}

function fileReferences(value: unknown): FileReference[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => {
    if (!isRecord(item)) return { source: scalarString(item) };
    const ref: FileReference = { source: scalarString(item.source) };
    if (item.target !== undefined && item.target !== null) ref.target = scalarString(item.target);
    if (item.uid !== undefined && item.uid !== null) ref.uid = scalarString(item.uid);
    if (item.gid !== undefined && item.gid !== null) ref.gid = scalarString(item.gid);
    if (typeof item.mode === "number") ref.mode = item.mode;
    else if (typeof item.mode === "string" && /^0?[0-7]+$/.test(item.mode))
      ref.mode = Number.parseInt(item.mode, 8);
    return ref;
  });
}

function networks(value: unknown): Record<string, ServiceNetwork | null> {
  const out: Record<string, ServiceNetwork | null> = {};
  if (Array.isArray(value)) for (const n of value) out[scalarString(n)] = null;
  else if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) out[k] = isRecord(v) ? (v as ServiceNetwork) : null;
  }
  return out;
}

function healthcheck(ctx: NormalizeContext, path: Path, value: Record<string, unknown>): HealthcheckConfig {
  const out: HealthcheckConfig = {};
  if (typeof value.test === "string") out.test = ["CMD-SHELL", value.test];
  else if (Array.isArray(value.test)) out.test = value.test.map(scalarString);
  for (const key of ["interval", "timeout", "start_period", "start_interval"] as const) {
    const d = normalizeDuration(ctx, [...path, key], value[key]);
    if (d !== undefined) out[key] = d;
  }
  if (typeof value.retries === "number") out.retries = value.retries;
  if (value.disable === true) out.disable = true;
  return out;
}

function ulimits(value: unknown): Record<string, number | { soft: number; hard: number }> {
  const out: Record<string, number | { soft: number; hard: number }> = {};
  if (!isRecord(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (isRecord(v)) out[k] = { soft: Number(v.soft), hard: Number(v.hard) };
    else out[k] = Number(v);
  }
  return out;
}

function envFilePaths(value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => (isRecord(item) ? scalarString(item.path) : scalarString(item)));
}

/**
 * docker/cli's resolveEnvironment: env_file entries first (later files win), then `environment`;
 * a variable without a value — or with an empty one — takes the value from the environment when
 * it is set there.
 */
function resolveEnvironment(
  ctx: NormalizeContext,
  base: Path,
  raw: Record<string, unknown>,
): Record<string, string | null> | undefined {
  if (raw.environment === undefined && (raw.env_file === undefined || raw.env_file === null))
    return undefined;
  const env: Record<string, string | null> = {};
  const apply = (vars: Iterable<[string, string | null]>) => {
    for (const [k, v] of vars) {
      const fromEnv = ctx.lookup(k);
      env[k] = (v === null || v === "") && fromEnv !== undefined ? fromEnv : v;
    }
  };
  if (raw.env_file !== undefined && raw.env_file !== null) {
    const items = Array.isArray(raw.env_file) ? raw.env_file : [raw.env_file];
    items.forEach((item, i) => {
      const path = Array.isArray(raw.env_file) ? [...base, "env_file", i] : [...base, "env_file"];
      const rel = isRecord(item) ? scalarString(item.path) : scalarString(item);
      const required = isRecord(item) ? item.required !== false : true;
      const abs = absolutePath(ctx, rel);
      const text = ctx.readFile(abs);
      if (text === undefined) {
        if (required)
          fail(
            ctx,
            path,
            `env file ${JSON.stringify(abs)} not found`,
            StackErrorCode.ReferencedFileUnreadable,
          );
        return;
      }
      const parsed = parseEnvFile(text, ctx.lookup);
      for (const p of parsed.problems) fail(ctx, path, `${abs}:${p.line}: ${p.message}`);
      apply(parsed.vars);
    });
  }
  if (raw.environment !== undefined) apply(Object.entries(mappingOrList(raw.environment, "=", null)));
  return env;
}
