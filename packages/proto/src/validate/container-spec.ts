import type {
  ConfigReference,
  ContainerSpec,
  FileTarget,
  HealthConfig,
  Mount,
  SecretReference,
} from "../gen/shoal/v1/specs.js";
import { BindPropagation, MountType } from "../gen/shoal/v1/specs.js";
import type { IssueCollector } from "./issues.js";

// A registry reference as the OCI distribution spec and Docker accept it: optional registry host
// (with port), lowercase path components, optional tag, optional digest. Kept permissive on the
// host part; the runtime's pull reports unreachable registries.
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const IMAGE_REFERENCE = new RegExp(
  `^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*` +
    "(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,})?$",
);

// Signals a stop_signal may name (Linux). Numbers 1..64 are accepted as well.
const SIGNALS = new Set([
  "HUP",
  "INT",
  "QUIT",
  "ILL",
  "TRAP",
  "ABRT",
  "BUS",
  "FPE",
  "KILL",
  "USR1",
  "SEGV",
  "USR2",
  "PIPE",
  "ALRM",
  "TERM",
  "STKFLT",
  "CHLD",
  "CONT",
  "STOP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "XCPU",
  "XFSZ",
  "VTALRM",
  "PROF",
  "WINCH",
  "IO",
  "PWR",
  "SYS",
]);

export function isKnownSignal(signal: string): boolean {
  if (/^[0-9]+$/.test(signal)) return Number(signal) >= 1 && Number(signal) <= 64;
  const name = signal.toUpperCase().replace(/^SIG/, "");
  return SIGNALS.has(name) || /^RTM(IN|AX)([+-]([1-9]|1[0-5]))?$/.test(name);
}

const HEALTHCHECK_KINDS = ["NONE", "CMD", "CMD-SHELL"];
const MAX_FILE_MODE = 0o777;

export function checkContainerSpec(issues: IssueCollector, path: string, spec: ContainerSpec): void {
  if (issues.notEmpty(`${path}.image`, spec.image) && !IMAGE_REFERENCE.test(spec.image)) {
    issues.add(
      `${path}.image`,
      `"${spec.image}" is not a valid image reference; use name[:tag][@digest] in lowercase`,
    );
  }
  spec.env.forEach((entry, i) => {
    if (entry === "" || entry.startsWith("="))
      issues.add(`${path}.env[${i}]`, `"${entry}" must look like KEY=value`);
  });
  if (spec.stopSignal !== "" && !isKnownSignal(spec.stopSignal)) {
    issues.add(`${path}.stop_signal`, `"${spec.stopSignal}" is not a known signal`);
  }
  issues.durationMs(`${path}.stop_grace_period_ms`, spec.stopGracePeriodMs);
  checkMounts(issues, `${path}.mounts`, spec.mounts);
  checkFileReferences(issues, `${path}.secrets`, "secret", spec.secrets);
  checkFileReferences(issues, `${path}.configs`, "config", spec.configs);
  if (spec.healthcheck !== undefined) checkHealthcheck(issues, `${path}.healthcheck`, spec.healthcheck);
  spec.hosts.forEach((line, i) => {
    if (line.trim().split(/\s+/).length < 2) {
      issues.add(`${path}.hosts[${i}]`, `"${line}" must look like "IP hostname [alias...]"`);
    }
  });
  const ulimitNames = new Set<string>();
  spec.ulimits.forEach((ulimit, i) => {
    const at = `${path}.ulimits[${i}]`;
    if (!issues.notEmpty(`${at}.name`, ulimit.name)) return;
    if (ulimitNames.has(ulimit.name)) issues.add(at, `ulimit "${ulimit.name}" is set twice`);
    ulimitNames.add(ulimit.name);
    issues.count(`${at}.soft`, ulimit.soft);
    issues.count(`${at}.hard`, ulimit.hard);
    if (ulimit.soft > ulimit.hard)
      issues.add(at, `soft limit ${ulimit.soft} is above the hard limit ${ulimit.hard}`);
  });
  for (const [key] of Object.entries(spec.sysctls)) {
    if (key.trim() === "") issues.add(`${path}.sysctls`, "sysctl names must not be empty");
  }
}

function checkMounts(issues: IssueCollector, path: string, mounts: Mount[]): void {
  const targets = new Set<string>();
  mounts.forEach((mount, i) => {
    const at = `${path}[${i}]`;
    issues.oneOf(`${at}.type`, mount.type, MountType, false);
    if (issues.notEmpty(`${at}.target`, mount.target)) {
      if (!mount.target.startsWith("/"))
        issues.add(`${at}.target`, `"${mount.target}" must be an absolute path`);
      else if (targets.has(mount.target)) issues.add(at, `target "${mount.target}" is used twice`);
      targets.add(mount.target);
    }
    if (mount.type === MountType.BIND) {
      if (mount.source === "") issues.add(`${at}.source`, "must be set for a bind mount");
      else if (!mount.source.startsWith("/"))
        issues.add(`${at}.source`, `"${mount.source}" must be an absolute path`);
    }
    if (mount.type === MountType.TMPFS && mount.source !== "") {
      issues.add(`${at}.source`, `"${mount.source}" must be empty for a tmpfs mount`);
    }
    if (mount.bindOptions !== undefined) {
      if (mount.type !== MountType.BIND) issues.add(`${at}.bind_options`, "is only allowed on a bind mount");
      issues.oneOf(`${at}.bind_options.propagation`, mount.bindOptions.propagation, BindPropagation);
    }
    if (mount.volumeOptions !== undefined && mount.type !== MountType.VOLUME) {
      issues.add(`${at}.volume_options`, "is only allowed on a volume mount");
    }
    if (mount.tmpfsOptions !== undefined) {
      if (mount.type !== MountType.TMPFS)
        issues.add(`${at}.tmpfs_options`, "is only allowed on a tmpfs mount");
      issues.bytes(`${at}.tmpfs_options.size_bytes`, mount.tmpfsOptions.sizeBytes);
      checkMode(issues, `${at}.tmpfs_options.mode`, mount.tmpfsOptions.mode, 0o7777);
    }
  });
}

function checkMode(issues: IssueCollector, path: string, mode: number, max: number): void {
  if (!Number.isInteger(mode) || mode < 0) issues.add(path, `${mode} is not a permission mode like 0o444`);
  else if (mode > max) issues.add(path, `0o${mode.toString(8)} is above the 0o${max.toString(8)} maximum`);
}

function checkFileTarget(issues: IssueCollector, path: string, file: FileTarget): void {
  if (issues.notEmpty(`${path}.name`, file.name) && file.name.split("/").includes("..")) {
    issues.add(`${path}.name`, `"${file.name}" must not contain ".."`);
  }
  checkMode(issues, `${path}.mode`, file.mode, MAX_FILE_MODE);
}

function checkFileReferences(
  issues: IssueCollector,
  path: string,
  kind: "secret" | "config",
  refs: Array<SecretReference | ConfigReference>,
): void {
  const targets = new Set<string>();
  refs.forEach((ref, i) => {
    const at = `${path}[${i}]`;
    const id = "secretId" in ref ? ref.secretId : ref.configId;
    const name = "secretName" in ref ? ref.secretName : ref.configName;
    if (id === "" && name === "") issues.add(at, `needs ${kind}_id or ${kind}_name`);
    if (ref.file === undefined) {
      issues.add(`${at}.file`, "must be set");
      return;
    }
    checkFileTarget(issues, `${at}.file`, ref.file);
    if (ref.file.name !== "") {
      if (targets.has(ref.file.name)) issues.add(at, `target "${ref.file.name}" is used twice`);
      targets.add(ref.file.name);
    }
  });
}

function checkHealthcheck(issues: IssueCollector, path: string, health: HealthConfig): void {
  const [kind] = health.test;
  if (kind !== undefined) {
    if (!HEALTHCHECK_KINDS.includes(kind)) {
      issues.add(`${path}.test[0]`, `"${kind}" is not one of ${HEALTHCHECK_KINDS.join(", ")}`);
    } else if (kind !== "NONE" && health.test.length < 2) {
      issues.add(`${path}.test`, `${JSON.stringify(health.test)} names no command`);
    }
  }
  issues.durationMs(`${path}.interval_ms`, health.intervalMs);
  issues.durationMs(`${path}.timeout_ms`, health.timeoutMs);
  issues.count(`${path}.retries`, health.retries);
  issues.durationMs(`${path}.start_period_ms`, health.startPeriodMs);
  issues.durationMs(`${path}.start_interval_ms`, health.startIntervalMs);
}
