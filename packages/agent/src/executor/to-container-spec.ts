import {
  type HealthConfig,
  type Mount,
  MountType,
  type PortConfig,
  PortProtocol,
  PublishMode,
  type Task,
  type ContainerSpec as WireContainerSpec,
} from "@shoal/proto";
import type { ContainerSpec, HealthcheckSpec, MountSpec, PortRequest } from "@shoal/runtime";
import { parseSecurityOpt } from "./security-opt.js";

/**
 * The wire task → the runtime's narrow container spec (pure; templates are expanded before this).
 * Empty wire values mean "unset" and are left out, so the image's own values apply.
 */
export function toContainerSpec(task: Task): ContainerSpec {
  const c = task.spec?.container as WireContainerSpec;
  const limits = task.spec?.resources?.limits;
  const spec: ContainerSpec = {
    image: c.image,
    labels: { ...c.labels },
    readOnly: c.readOnly,
    mounts: c.mounts.map(toMount),
  };
  if (c.command.length > 0) spec.command = [...c.command];
  if (c.args.length > 0) spec.args = [...c.args];
  if (c.env.length > 0) spec.env = [...c.env];
  if (c.dir !== "") spec.dir = c.dir;
  if (c.user !== "") spec.user = c.user;
  if (c.groups.length > 0) spec.groups = [...c.groups];
  if (c.hostname !== "") spec.hostname = c.hostname;
  if (c.capAdd.length > 0) spec.capAdd = [...c.capAdd];
  if (c.capDrop.length > 0) spec.capDrop = [...c.capDrop];
  if (Object.keys(c.sysctls).length > 0) spec.sysctls = { ...c.sysctls };
  if (c.ulimits.length > 0)
    spec.ulimits = c.ulimits.map((u) => ({ name: u.name, soft: u.soft, hard: u.hard }));
  if (c.init !== undefined) spec.init = c.init;
  const security = parseSecurityOpt(c.securityOpt);
  if (security.seccompProfile !== undefined) spec.seccompProfile = security.seccompProfile;
  if (security.noNewPrivileges !== undefined) spec.noNewPrivileges = security.noNewPrivileges;
  if (c.stopSignal !== "") spec.stopSignal = c.stopSignal;
  if (c.stopGracePeriodMs !== undefined) spec.stopGracePeriodMs = c.stopGracePeriodMs;
  const healthcheck = toHealthcheck(c.healthcheck);
  if (healthcheck !== undefined) spec.healthcheck = healthcheck;
  if (limits !== undefined) {
    spec.resources = { limits: {} };
    if (limits.nanoCpus > 0) spec.resources.limits = { ...spec.resources.limits, nanoCpus: limits.nanoCpus };
    if (limits.memoryBytes > 0)
      spec.resources.limits = { ...spec.resources.limits, memoryBytes: limits.memoryBytes };
    if (limits.pids > 0) spec.resources.limits = { ...spec.resources.limits, pids: limits.pids };
  }
  return spec;
}

function toMount(m: Mount): MountSpec {
  switch (m.type) {
    case MountType.VOLUME:
      return { kind: "volume", name: m.source, target: m.target, readOnly: m.readOnly };
    case MountType.TMPFS: {
      const sizeBytes = m.tmpfsOptions?.sizeBytes ?? 0;
      const mode = m.tmpfsOptions?.mode ?? 0;
      return {
        kind: "tmpfs",
        target: m.target,
        ...(sizeBytes > 0 ? { sizeBytes } : {}),
        ...(mode > 0 ? { mode } : {}),
      };
    }
    default:
      return { kind: "bind", source: m.source, target: m.target, readOnly: m.readOnly };
  }
}

/** [] inherits the image's check: the runtime resolves that, so nothing is passed. */
function toHealthcheck(h: HealthConfig | undefined): HealthcheckSpec | undefined {
  if (h === undefined || h.test.length === 0) return undefined;
  const out: HealthcheckSpec = { test: [...h.test] };
  if (h.intervalMs !== undefined) out.intervalMs = h.intervalMs;
  if (h.timeoutMs !== undefined) out.timeoutMs = h.timeoutMs;
  if (h.retries !== undefined) out.retries = h.retries;
  if (h.startPeriodMs !== undefined) out.startPeriodMs = h.startPeriodMs;
  return out;
}

/** Host-mode published ports of the task (ingress ports belong to the routing mesh, stage 2). */
export function hostPorts(task: Task): PortRequest[] {
  const ports: PortConfig[] = task.endpoint?.ports ?? [];
  return ports
    .filter((p) => p.publishMode === PublishMode.HOST)
    .map((p) => {
      const r: PortRequest = {
        targetPort: p.targetPort,
        protocol: p.protocol === PortProtocol.UDP ? "udp" : "tcp",
      };
      if (p.publishedPort > 0) r.publishedPort = p.publishedPort;
      return r;
    });
}
