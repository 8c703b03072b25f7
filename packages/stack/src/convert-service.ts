import { parseDurationMs } from "@shoal/base";
import {
  BindPropagation,
  type ConfigReference,
  type ContainerSpec,
  EndpointMode,
  type GenericResource,
  type HealthConfig,
  type Mount,
  MountType,
  type NetworkAttachmentConfig,
  type PortConfig,
  PortProtocol,
  PublishMode,
  type Resources,
  RestartCondition,
  type RestartPolicy,
  type SecretReference,
  ServiceDefaults,
  type ServiceSpec,
  type UpdateConfig,
  UpdateFailureAction,
  UpdateOrder,
} from "@shoal/proto";
import type { ConvertContext } from "./convert-context.js";
import { parseCpus } from "./cpus.js";
import type { UpdateConfig as ComposeUpdate, ResourceSpec, ServiceConfig } from "./model.js";

/** Mode of a secret or config file in the container when the stack file gives none (Compose's). */
export const DEFAULT_FILE_MODE = 0o444;

const PROPAGATION: Record<string, BindPropagation> = {
  rprivate: BindPropagation.RPRIVATE,
  private: BindPropagation.PRIVATE,
  rshared: BindPropagation.RSHARED,
  shared: BindPropagation.SHARED,
  rslave: BindPropagation.RSLAVE,
  slave: BindPropagation.SLAVE,
};
const PROTOCOL: Record<string, PortProtocol> = {
  tcp: PortProtocol.TCP,
  udp: PortProtocol.UDP,
  sctp: PortProtocol.SCTP,
};
const CONDITION: Record<string, RestartCondition> = {
  none: RestartCondition.NONE,
  "on-failure": RestartCondition.ON_FAILURE,
  any: RestartCondition.ANY,
};
const FAILURE_ACTION: Record<string, UpdateFailureAction> = {
  pause: UpdateFailureAction.PAUSE,
  continue: UpdateFailureAction.CONTINUE,
  rollback: UpdateFailureAction.ROLLBACK,
};
const ORDER: Record<string, UpdateOrder> = {
  "stop-first": UpdateOrder.STOP_FIRST,
  "start-first": UpdateOrder.START_FIRST,
};

const ms = (d: string | undefined): number | undefined => (d === undefined ? undefined : parseDurationMs(d));

/** One service of the normalized model → a ServiceSpec, as docker/cli's convert.Service does. */
export function convertService(ctx: ConvertContext, key: string, svc: ServiceConfig): ServiceSpec {
  const deploy = svc.deploy ?? {};
  const spec: ServiceSpec = {
    name: ctx.scope(key),
    labels: ctx.withStackLabel(deploy.labels ?? {}),
    taskTemplate: {
      container: containerSpec(ctx, key, svc),
      resources: {
        ...(deploy.resources?.limits ? { limits: resources(deploy.resources.limits) } : {}),
        ...(deploy.resources?.reservations ? { reservations: resources(deploy.resources.reservations) } : {}),
      },
      networks: networks(ctx, key, svc),
      forceUpdate: 0,
      ...restartPolicy(ctx, key, svc),
      ...(deploy.placement
        ? {
            placement: {
              constraints: deploy.placement.constraints ?? [],
              preferences: (deploy.placement.preferences ?? []).map((p) => ({
                preference: { $case: "spread" as const, value: { spreadDescriptor: p.spread } },
              })),
              maxReplicasPerNode: deploy.placement.max_replicas_per_node ?? 0,
              platforms: [],
            },
          }
        : {}),
      ...(svc.logging?.driver !== undefined
        ? { logDriver: { name: svc.logging.driver, options: svc.logging.options ?? {} } }
        : {}),
    },
    endpointSpec: {
      mode: deploy.endpoint_mode === "dnsrr" ? EndpointMode.DNSRR : EndpointMode.VIP,
      ports: (svc.ports ?? []).map((p): PortConfig => {
        if (p.host_ip !== undefined)
          ctx.warn(key, "ports", `host_ip ${p.host_ip} is ignored: published ports listen on all addresses`);
        return {
          name: "",
          protocol: PROTOCOL[p.protocol] ?? PortProtocol.TCP,
          targetPort: p.target,
          publishedPort: p.published ?? 0,
          publishMode: p.mode === "host" ? PublishMode.HOST : PublishMode.INGRESS,
        };
      }),
    },
  };
  const replicas = deploy.replicas;
  switch (deploy.mode ?? "replicated") {
    case "global":
      spec.mode = { $case: "global", value: {} };
      break;
    case "global-job":
      spec.mode = { $case: "globalJob", value: {} };
      break;
    case "replicated-job":
      spec.mode = {
        $case: "replicatedJob",
        value: replicas === undefined ? {} : { maxConcurrent: replicas, totalCompletions: replicas },
      };
      break;
    default:
      spec.mode = { $case: "replicated", value: replicas === undefined ? {} : { replicas } };
  }
  if (deploy.update_config) spec.updateConfig = updateConfig(deploy.update_config);
  if (deploy.rollback_config) spec.rollbackConfig = updateConfig(deploy.rollback_config);
  return spec;
}

function containerSpec(ctx: ConvertContext, key: string, svc: ServiceConfig): ContainerSpec {
  const env: string[] = [];
  for (const [k, v] of Object.entries(svc.environment ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    if (v === null)
      ctx.warn(key, "environment", `variable ${k} has no value and is not set in the environment; left out`);
    else env.push(`${k}=${v}`);
  }
  const c: ContainerSpec = {
    image: svc.image ?? "",
    labels: ctx.withStackLabel(svc.labels ?? {}),
    // Compose's entrypoint replaces the image's ENTRYPOINT, its command the image's CMD.
    command: svc.entrypoint ?? [],
    args: svc.command ?? [],
    hostname: svc.hostname ?? "",
    env,
    dir: svc.working_dir ?? "",
    user: svc.user ?? "",
    groups: svc.group_add ?? [],
    tty: svc.tty ?? false,
    openStdin: svc.stdin_open ?? false,
    readOnly: svc.read_only ?? false,
    stopSignal: svc.stop_signal ?? "",
    mounts: mounts(ctx, key, svc),
    secrets: (svc.secrets ?? []).map(
      (ref): SecretReference => ({
        secretId: "",
        secretName: ctx.secretName(ref.source),
        file: {
          name: ref.target ?? ref.source,
          uid: ref.uid ?? "0",
          gid: ref.gid ?? "0",
          mode: ref.mode ?? DEFAULT_FILE_MODE,
        },
      }),
    ),
    configs: (svc.configs ?? []).map(
      (ref): ConfigReference => ({
        configId: "",
        configName: ctx.configName(ref.source),
        file: {
          name: ref.target ?? `/${ref.source}`,
          uid: ref.uid ?? "0",
          gid: ref.gid ?? "0",
          mode: ref.mode ?? DEFAULT_FILE_MODE,
        },
      }),
    ),
    // extra_hosts "name:ip" (or "name=ip") become /etc/hosts lines "ip name".
    hosts: (svc.extra_hosts ?? []).map((h) => {
      const i = h.includes("=") ? h.indexOf("=") : h.indexOf(":");
      return i < 0 ? h : `${h.slice(i + 1)} ${h.slice(0, i)}`;
    }),
    capAdd: svc.cap_add ?? [],
    capDrop: svc.cap_drop ?? [],
    securityOpt: [],
    sysctls: svc.sysctls ?? {},
    ulimits: Object.entries(svc.ulimits ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, v]) =>
        typeof v === "number" ? { name, soft: v, hard: v } : { name, soft: v.soft, hard: v.hard },
      ),
  };
  if (svc.stop_grace_period !== undefined) c.stopGracePeriodMs = parseDurationMs(svc.stop_grace_period);
  if (svc.init !== undefined) c.init = svc.init;
  if (svc.dns !== undefined || svc.dns_search !== undefined || svc.dns_opt !== undefined) {
    c.dnsConfig = { nameservers: svc.dns ?? [], search: svc.dns_search ?? [], options: svc.dns_opt ?? [] };
  }
  if (svc.healthcheck !== undefined) c.healthcheck = healthcheck(svc.healthcheck);
  return c;
}

function healthcheck(h: NonNullable<ServiceConfig["healthcheck"]>): HealthConfig {
  if (h.disable === true) return { test: ["NONE"] };
  const out: HealthConfig = { test: h.test ?? [] };
  const set = (
    k: "intervalMs" | "timeoutMs" | "startPeriodMs" | "startIntervalMs",
    v: string | undefined,
  ) => {
    const n = ms(v);
    if (n !== undefined) out[k] = n;
  };
  set("intervalMs", h.interval);
  set("timeoutMs", h.timeout);
  set("startPeriodMs", h.start_period);
  set("startIntervalMs", h.start_interval);
  if (h.retries !== undefined) out.retries = h.retries;
  return out;
}

function mounts(ctx: ConvertContext, key: string, svc: ServiceConfig): Mount[] {
  const out: Mount[] = [];
  for (const v of svc.volumes ?? []) {
    const base = { source: "", target: v.target, readOnly: v.read_only ?? false };
    if (v.type === "bind") {
      out.push({
        ...base,
        type: MountType.BIND,
        source: v.source ?? "",
        bindOptions: {
          propagation: PROPAGATION[v.bind?.propagation ?? ""] ?? BindPropagation.UNSPECIFIED,
          nonRecursive: false,
          createMountpoint: v.bind?.create_host_path ?? false,
        },
      });
    } else if (v.type === "volume") {
      const def = v.source === undefined ? undefined : ctx.config.volumes[v.source];
      out.push({
        ...base,
        type: MountType.VOLUME,
        source: v.source === undefined ? "" : ctx.volumeName(v.source),
        volumeOptions: {
          noCopy: v.volume?.nocopy ?? false,
          labels: def === undefined || def.external ? {} : ctx.withStackLabel(def.labels ?? {}),
          ...(def?.driver !== undefined && !def.external
            ? { driverConfig: { name: def.driver, options: def.driver_opts ?? {} } }
            : {}),
        },
      });
    } else if (v.type === "tmpfs") {
      out.push({
        ...base,
        type: MountType.TMPFS,
        tmpfsOptions: { sizeBytes: v.tmpfs?.size ?? 0, mode: v.tmpfs?.mode ?? 0, options: [] },
      });
    } else {
      ctx.warn(key, "volumes", `${v.type} mount at ${v.target} is not supported and is left out`);
    }
  }
  // Service-level `tmpfs:` ("/run" or "/run:size=64m,mode=1777,noexec"); docker/cli drops it for
  // Swarm, we mount it.
  for (const entry of svc.tmpfs ?? []) {
    const colon = entry.indexOf(":");
    const target = colon < 0 ? entry : entry.slice(0, colon);
    const tmpfs = { sizeBytes: 0, mode: 0, options: [] as string[] };
    for (const opt of colon < 0 ? [] : entry.slice(colon + 1).split(",")) {
      const [k, v] = opt.split("=", 2);
      if (k === "size" && v !== undefined && /^\d+[kmg]?$/i.test(v)) {
        const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[v.slice(-1).toLowerCase()] ?? 1;
        tmpfs.sizeBytes = Number.parseInt(v, 10) * unit;
      } else if (k === "mode" && v !== undefined && /^[0-7]+$/.test(v)) tmpfs.mode = Number.parseInt(v, 8);
      else if (opt !== "") tmpfs.options.push(opt);
    }
    out.push({ type: MountType.TMPFS, source: "", target, readOnly: false, tmpfsOptions: tmpfs });
  }
  return out;
}

function networks(ctx: ConvertContext, key: string, svc: ServiceConfig): NetworkAttachmentConfig[] {
  const entries = Object.entries(svc.networks ?? {});
  if (entries.length === 0) entries.push(["default", null]);
  return entries
    .map(([net, cfg]) => {
      ctx.useNetwork(net);
      // The service's own name is always an alias on its networks, as in docker/cli.
      return {
        target: ctx.networkName(net),
        aliases: [...(cfg?.aliases ?? []), key],
        driverOpts: (cfg?.driver_opts as Record<string, string> | undefined) ?? {},
      };
    })
    .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

function resources(r: ResourceSpec): Resources {
  return {
    nanoCpus: r.cpus === undefined ? 0 : (parseCpus(r.cpus) ?? 0),
    memoryBytes: r.memory ?? 0,
    pids: r.pids ?? 0,
    generic: (r.generic_resources ?? []).map(
      (g): GenericResource => ({
        kind: g.discrete_resource_spec.kind,
        value: { $case: "discrete", value: g.discrete_resource_spec.value },
      }),
    ),
  };
}

function restartPolicy(
  ctx: ConvertContext,
  key: string,
  svc: ServiceConfig,
): { restartPolicy?: RestartPolicy } {
  const p = svc.deploy?.restart_policy;
  if (p !== undefined) {
    const out: RestartPolicy = {
      condition: CONDITION[p.condition ?? "any"] ?? RestartCondition.ANY,
      maxAttempts: p.max_attempts ?? 0,
      windowMs: ms(p.window) ?? 0,
    };
    const delay = ms(p.delay);
    if (delay !== undefined) out.delayMs = delay;
    return { restartPolicy: out };
  }
  // Without deploy.restart_policy docker/cli falls back to the container `restart:` key.
  const restart = typeof svc.restart === "string" ? svc.restart : undefined;
  if (restart === undefined || restart === "no") return {};
  if (restart === "always" || restart === "unless-stopped") {
    return { restartPolicy: { condition: RestartCondition.ANY, maxAttempts: 0, windowMs: 0 } };
  }
  const m = /^on-failure(?::(\d+))?$/.exec(restart);
  if (m !== null) {
    return {
      restartPolicy: { condition: RestartCondition.ON_FAILURE, maxAttempts: Number(m[1] ?? 0), windowMs: 0 },
    };
  }
  ctx.warn(key, "restart", `unknown restart policy ${JSON.stringify(restart)} is ignored`);
  return {};
}

function updateConfig(u: ComposeUpdate): UpdateConfig {
  const out: UpdateConfig = {
    // docker/cli sends parallelism 1 when the file leaves it out.
    parallelism: u.parallelism ?? ServiceDefaults.update.parallelism,
    delayMs: ms(u.delay) ?? 0,
    failureAction: FAILURE_ACTION[u.failure_action ?? ""] ?? UpdateFailureAction.UNSPECIFIED,
    maxFailureRatio: u.max_failure_ratio ?? 0,
    order: ORDER[u.order ?? ""] ?? UpdateOrder.UNSPECIFIED,
  };
  const monitor = ms(u.monitor);
  if (monitor !== undefined) out.monitorMs = monitor;
  return out;
}
