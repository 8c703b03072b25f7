import { posix } from "node:path";
import { ShoalError } from "@shoal/base";
import type { ImageConfig } from "../image/types.js";
import { resolveCapabilities } from "./capabilities.js";
import { ContainerErrorCode } from "./errors.js";
import { baseMounts, CPU_PERIOD_US, MASKED_PATHS, type OciMount, READONLY_PATHS } from "./oci-defaults.js";
import { mergeEnv, resolveArgv } from "./process-args.js";
import {
  type OciSeccomp,
  resolveSeccomp,
  SECCOMP_DEFAULT,
  SECCOMP_UNCONFINED,
  type SeccompProfile,
} from "./seccomp.js";
import { DEFAULT_SECCOMP_PROFILE } from "./seccomp-default.js";
import type { ContainerSpec, MountSpec, NetworkAttachment } from "./types.js";
import type { ResolvedUser } from "./user.js";

/** Everything `buildOciSpec` needs; the effects (mounting, reading /etc/passwd) happen before. */
export interface OciSpecInput {
  spec: ContainerSpec;
  image: Pick<ImageConfig, "entrypoint" | "cmd" | "env" | "workingDir">;
  user: ResolvedUser;
  /** The mounted overlay (absolute host path). */
  rootfsPath: string;
  hostname: string;
  /** Host paths of the generated files bind-mounted over the image's. */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  network: NetworkAttachment;
  /** Absolute cgroup path below each controller's root, e.g. "/shoal/node1/<id>". */
  cgroupsPath: string;
  /** Host dir holding node-local named volumes (`<volumesDir>/<name>`). */
  volumesDir: string;
  annotations: Record<string, string>;
  /** The profile file the spec's `seccompProfile` names, read and checked by the caller. */
  seccompFile?: SeccompProfile;
  /** Node's `process.arch` (default: this process's), for the profile's architectures. */
  arch?: string;
  /** Host-specific paths to mask besides `MASKED_PATHS` (the CPUs' thermal_throttle dirs). */
  extraMaskedPaths?: readonly string[];
  /** The node's init binary; required when `spec.init` is true. */
  initPath?: string;
  /** Secret and config files: host path (on the container's tmpfs) → target, mounted read-only. */
  files?: readonly { source: string; target: string }[];
}

/** Where `init: true` puts the node's init inside the container. */
const INIT_TARGET = "/sbin/shoal-init";

/** The subset of the OCI runtime spec that Shoal writes (runc 1.1 reads it as config.json). */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: {
      bounding: string[];
      effective: string[];
      permitted: string[];
      inheritable: string[];
      ambient: string[];
    };
    rlimits: { type: string; soft: number; hard: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: {
      devices: { allow: boolean; access: string }[];
      memory?: { limit: number; swap: number };
      cpu?: { quota: number; period: number };
      pids?: { limit: number };
    };
    sysctl: Record<string, string>;
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp?: OciSeccomp;
  };
}

const RLIMIT_NAMES = new Set([
  "as",
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
]);

function invalid(message: string): ShoalError {
  return new ShoalError(ContainerErrorCode.InvalidSpec, message);
}

function userMount(m: MountSpec, volumesDir: string): OciMount {
  if (!posix.isAbsolute(m.target)) throw invalid(`mount target "${m.target}" is not an absolute path`);
  switch (m.kind) {
    case "bind":
      if (!posix.isAbsolute(m.source))
        throw invalid(`bind mount source "${m.source}" is not an absolute path`);
      return {
        destination: m.target,
        type: "bind",
        source: m.source,
        options: ["rbind", m.readOnly ? "ro" : "rw", m.propagation ?? "rprivate"],
      };
    case "volume":
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(m.name))
        throw invalid(`volume name "${m.name}" has characters outside [A-Za-z0-9_.-]`);
      return {
        destination: m.target,
        type: "bind",
        source: posix.join(volumesDir, m.name),
        options: ["rbind", m.readOnly ? "ro" : "rw", "rprivate"],
      };
    case "tmpfs": {
      // Docker's tmpfs defaults: no setuid, no devices, no exec.
      const options = ["nosuid", "nodev", "noexec"];
      if (m.sizeBytes !== undefined) options.push(`size=${m.sizeBytes}`);
      options.push(`mode=${(m.mode ?? 0o1777).toString(8)}`);
      return { destination: m.target, type: "tmpfs", source: "tmpfs", options };
    }
  }
}

/** Sysctls that are namespaced (and so safe to set per container), as Docker allows them. */
function checkSysctl(key: string, network: NetworkAttachment): void {
  const ipc = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
  ];
  if (ipc.includes(key) || key.startsWith("fs.mqueue.")) return;
  if (key.startsWith("net.")) {
    if (network.kind === "host")
      throw invalid(`sysctl "${key}" cannot be set on a container that shares the host network`);
    return;
  }
  throw invalid(`sysctl "${key}" is not namespaced and cannot be set per container`);
}

/** Builds config.json for runc from the task's spec and the image's config. Pure. */
export function buildOciSpec(input: OciSpecInput): OciSpec {
  const { spec, image, user, network } = input;
  let args = resolveArgv(spec, image);
  if (spec.init === true) {
    if (input.initPath === undefined) throw invalid("init is requested but the node has no init binary");
    // tini runs the argv as its child; `--` keeps the argv's own flags away from tini.
    args = [INIT_TARGET, "--", ...args];
  }
  const env = mergeEnv(image.env, spec.env ?? [], { hostname: input.hostname, home: user.home });
  const cwd =
    spec.dir ?? (image.workingDir !== undefined && image.workingDir !== "" ? image.workingDir : "/");
  if (!posix.isAbsolute(cwd)) throw invalid(`working dir "${cwd}" is not an absolute path`);
  const caps = resolveCapabilities(spec.capAdd, spec.capDrop);

  const rlimits: { type: string; soft: number; hard: number }[] = [];
  for (const u of spec.ulimits ?? []) {
    if (!RLIMIT_NAMES.has(u.name)) throw invalid(`ulimit "${u.name}" is not known`);
    if (u.soft > u.hard)
      throw invalid(`ulimit "${u.name}" soft limit ${u.soft} is above its hard limit ${u.hard}`);
    rlimits.push({ type: `RLIMIT_${u.name.toUpperCase()}`, soft: u.soft, hard: u.hard });
  }

  const mounts = baseMounts();
  const etc: OciMount[] = [
    { destination: "/etc/hosts", type: "bind", source: input.etcFiles.hosts, options: ["rbind", "rprivate"] },
    {
      destination: "/etc/hostname",
      type: "bind",
      source: input.etcFiles.hostname,
      options: ["rbind", "rprivate"],
    },
    {
      destination: "/etc/resolv.conf",
      type: "bind",
      source: input.etcFiles.resolvConf,
      options: ["rbind", "rprivate"],
    },
  ];
  const user_ = (spec.mounts ?? []).map((m) => userMount(m, input.volumesDir));
  for (const f of input.files ?? []) {
    if (!posix.isAbsolute(f.target)) throw invalid(`file target "${f.target}" is not an absolute path`);
    user_.push({
      destination: f.target,
      type: "bind",
      source: f.source,
      options: ["rbind", "ro", "rprivate", "nosuid", "nodev", "noexec"],
    });
  }
  const seen = new Set<string>();
  for (const m of user_) {
    const t = cleanTarget(m.destination);
    m.destination = t;
    if (seen.has(t)) throw invalid(`mount target "${t}" is used twice`);
    seen.add(t);
  }
  // Parents before children, whatever order the spec listed them in (Docker sorts the same way).
  user_.sort((a, b) => depth(a.destination) - depth(b.destination));
  const allMounts = [
    ...mounts.filter((m) => !seen.has(m.destination)),
    ...etc.filter((m) => !seen.has(m.destination)),
    ...user_,
  ];
  if (spec.init === true && input.initPath !== undefined) {
    if (seen.has(INIT_TARGET)) throw invalid(`mount target "${INIT_TARGET}" is where init goes`);
    allMounts.push({
      destination: INIT_TARGET,
      type: "bind",
      source: input.initPath,
      options: ["rbind", "ro", "rprivate", "nosuid", "nodev"],
    });
  }

  const namespaces: { type: string; path?: string }[] = [
    { type: "pid" },
    { type: "ipc" },
    { type: "uts" },
    { type: "mount" },
  ];
  if (network.kind === "none") namespaces.push({ type: "network" });
  else if (network.kind === "netns") namespaces.push({ type: "network", path: network.path });

  const sysctl: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.sysctls ?? {})) {
    checkSysctl(k, network);
    sysctl[k] = v;
  }

  const resources: OciSpec["linux"]["resources"] = { devices: [{ allow: false, access: "rwm" }] };
  const limits = spec.resources?.limits;
  if (limits?.memoryBytes !== undefined && limits.memoryBytes > 0) {
    if (limits.memoryBytes < 6 * 1024 * 1024)
      throw invalid(`memory limit ${limits.memoryBytes} bytes is below the 6MiB minimum`);
    // swap equal to the limit: memory+swap may not exceed memory, so the container never swaps.
    resources.memory = { limit: limits.memoryBytes, swap: limits.memoryBytes };
  }
  if (limits?.nanoCpus !== undefined && limits.nanoCpus > 0) {
    const quota = Math.round((limits.nanoCpus * CPU_PERIOD_US) / 1e9);
    if (quota < 1000) throw invalid(`cpu limit ${limits.nanoCpus / 1e9} is below the 0.01 CPU minimum`);
    resources.cpu = { quota, period: CPU_PERIOD_US };
  }
  if (limits?.pids !== undefined && limits.pids > 0) resources.pids = { limit: limits.pids };

  const linux: OciSpec["linux"] = {
    namespaces,
    cgroupsPath: input.cgroupsPath,
    resources,
    sysctl,
    maskedPaths: [...MASKED_PATHS, ...(input.extraMaskedPaths ?? [])],
    readonlyPaths: [...READONLY_PATHS],
  };
  const profile = seccompProfileOf(spec, input.seccompFile);
  if (profile !== undefined)
    linux.seccomp = resolveSeccomp(profile, { capabilities: caps, arch: input.arch ?? process.arch });

  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user:
        user.additionalGids.length > 0
          ? { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids }
          : { uid: user.uid, gid: user.gid },
      args,
      env,
      cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      rlimits,
      noNewPrivileges: spec.noNewPrivileges ?? true,
    },
    root: { path: input.rootfsPath, readonly: spec.readOnly ?? false },
    hostname: input.hostname,
    mounts: allMounts,
    annotations: input.annotations,
    linux,
  };
}

/** The spec's seccomp choice: Docker's default, none, or the file the caller read. */
function seccompProfileOf(spec: ContainerSpec, file: SeccompProfile | undefined): SeccompProfile | undefined {
  const choice = spec.seccompProfile ?? SECCOMP_DEFAULT;
  if (choice === SECCOMP_DEFAULT) return DEFAULT_SECCOMP_PROFILE;
  if (choice === SECCOMP_UNCONFINED) return undefined;
  if (!posix.isAbsolute(choice))
    throw invalid(`seccomp profile "${choice}" is neither "default", "unconfined" nor an absolute path`);
  if (file === undefined) throw invalid(`seccomp profile "${choice}" was not read`);
  return file;
}

function cleanTarget(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

function depth(p: string): number {
  return posix
    .normalize(p)
    .split("/")
    .filter((s) => s !== "").length;
}
