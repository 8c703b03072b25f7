import type { ImageStore } from "../image/types.js";
import type { DnsConfig } from "../network/resolv.js";

/**
 * The container side's input and output shapes. These are narrow on purpose: the agent converts
 * the wire task spec into a `ContainerSpec`, and the runtime never sees protobuf types.
 */

/** A mount as the task spec states it. Targets are absolute paths inside the container. */
export type MountSpec =
  | { kind: "bind"; source: string; target: string; readOnly?: boolean; propagation?: string }
  /** A node-local named volume: a directory under the runtime's volumes dir, created on demand. */
  | { kind: "volume"; name: string; target: string; readOnly?: boolean }
  | { kind: "tmpfs"; target: string; sizeBytes?: number; mode?: number };

export interface Ulimit {
  /** Short name as Docker takes it: "nofile", "nproc", "core", … */
  name: string;
  soft: number;
  hard: number;
}

/** Docker's HealthConfig with durations in milliseconds. `test[0]` is CMD, CMD-SHELL or NONE. */
export interface HealthcheckSpec {
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
}

export interface ResourceLimits {
  /** CPU in units of 1e-9 CPUs (Docker's NanoCPUs); becomes a CFS quota over a 100 ms period. */
  nanoCpus?: number;
  /** Memory limit; swap is set equal to it, so the container cannot swap. */
  memoryBytes?: number;
  /** Maximum number of processes (pids cgroup). */
  pids?: number;
}

/** What a task asks of its container (Swarm's ContainerSpec, narrowed to what the runtime uses). */
export interface ContainerSpec {
  /** Image reference, handed as is to the image source. */
  image: string;
  /** Replaces the image's Entrypoint (Swarm's `command`); the image's Cmd is then dropped. */
  command?: string[];
  /** Replaces the image's Cmd (Swarm's `args`). */
  args?: string[];
  /** "KEY=value" entries, applied over the image's Env (same key: the spec wins). */
  env?: string[];
  dir?: string;
  /** "user", "uid", "user:group" or "uid:gid"; names are resolved in the image's /etc files. */
  user?: string;
  /** Extra supplementary groups, by name (resolved in the image's /etc/group) or number. */
  groups?: string[];
  hostname?: string;
  labels?: Record<string, string>;
  mounts?: MountSpec[];
  readOnly?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  sysctls?: Record<string, string>;
  ulimits?: Ulimit[];
  /**
   * Runs the node's init (tini, `initPath` of the runtime) as PID 1, bind-mounted read-only at
   * `INIT_TARGET`, with the container's argv as its child: zombies are reaped, signals forwarded.
   */
  init?: boolean;
  /** Defaults to true: a setuid binary inside cannot gain privileges. */
  noNewPrivileges?: boolean;
  /**
   * "default" (the default: Docker's allowlist, see `seccomp-default.ts`), "unconfined" (no
   * filter), or the absolute path of a Docker-format JSON profile on the node.
   */
  seccompProfile?: string;
  stopSignal?: string;
  stopGracePeriodMs?: number;
  healthcheck?: HealthcheckSpec;
  resources?: { limits?: ResourceLimits };
}

/**
 * The network seam. The network side prepares a namespace (NodeNetwork.attach) and hands its path
 * here; "host" shares the node's stack and "none" gives a fresh namespace with loopback only.
 */
export type NetworkAttachment =
  | { kind: "none"; extraHosts?: string[]; dns?: DnsConfig }
  | { kind: "host" }
  | { kind: "netns"; path: string; ip?: string; extraHosts?: string[]; dns?: DnsConfig };

/** Who the container belongs to; becomes its name and labels. */
export interface ContainerOwner {
  taskId: string;
  serviceId: string;
  /** Used in the container name (`<serviceName>.<slot>.<taskId>`) when given. */
  serviceName?: string;
  slot?: number;
}

export interface LogOptions {
  /** Size at which the monitor starts a new log file. */
  maxSizeBytes?: number;
  /** Files kept per container, the live one included. */
  maxFiles?: number;
}

/**
 * A file the container gets read-only at `target` (a secret or a config). Its bytes are written to
 * a tmpfs in the container's dir — never to disk, never into the container's record — and bind
 * mounted; uid, gid and mode are those of the file as the container sees it.
 */
export interface ContainerFile {
  target: string;
  data: Uint8Array;
  uid: number;
  gid: number;
  mode: number;
}

export interface CreateContainerOptions {
  /** Defaults to a new id. */
  id?: string;
  spec: ContainerSpec;
  owner: ContainerOwner;
  network?: NetworkAttachment;
  /**
   * Settles when the network namespace of `network` stands: the bundle and rootfs are made
   * meanwhile, and only `runc create` waits for it. A rejection fails the create (undone as any).
   */
  networkReady?: Promise<void>;
  logs?: LogOptions;
  /** Secrets and configs as files; kept in memory and on tmpfs only (see `ContainerFile`). */
  files?: ContainerFile[];
}

/**
 * Where containers get their images from: the image store's `acquire`/`release` (holder = the
 * container id, idempotent, so re-adoption after a restart can call it again). A source that also
 * lists its holders (`holderIds`) gets them reconciled on `open`: a holder that is no container of
 * the runtime is released. Offer it only when every holder is this runtime's.
 */
export type ContainerImageSource = Pick<ImageStore, "acquire" | "release"> & {
  holderIds?: () => readonly string[];
};

export const ContainerState = {
  Created: "created",
  Running: "running",
  Exited: "exited",
} as const;
export type ContainerState = (typeof ContainerState)[keyof typeof ContainerState];

export const HealthStatus = {
  Starting: "starting",
  Healthy: "healthy",
  Unhealthy: "unhealthy",
} as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

export interface HealthProbeResult {
  startedAtMs: number;
  endedAtMs: number;
  exitCode: number;
  output: string;
}

export interface HealthReport {
  status: HealthStatus;
  failingStreak: number;
  /** The last few probe results, oldest first. */
  log: HealthProbeResult[];
}

export interface ContainerExit {
  exitCode: number;
  oomKilled: boolean;
  finishedAtMs: number;
}

/** What `inspect` and `list` report. */
export interface ContainerInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  imageRef: string;
  imageId: string;
  state: ContainerState;
  createdAtMs: number;
  startedAtMs?: number;
  /** The container's init process as seen from the node. */
  pid?: number;
  exit?: ContainerExit;
  health?: HealthReport;
  cgroupPath: string;
  logPath: string;
}

export interface ContainerStats {
  timestampMs: number;
  /** Total CPU time consumed, nanoseconds (cpuacct.usage). */
  cpuUsageNs: number;
  memoryUsageBytes: number;
  /** Usage minus inactive file cache, as `docker stats` shows. */
  memoryWorkingSetBytes: number;
  /** Absent when unlimited. */
  memoryLimitBytes?: number;
  memoryMaxUsageBytes: number;
  pids: number;
}

/** One log record as presented to readers (Docker's json-file fields). */
export interface LogEntry {
  /** RFC 3339 with nanoseconds, as the monitor wrote it. */
  time: string;
  /** Milliseconds since the epoch, for filtering. */
  timeMs: number;
  stream: "stdout" | "stderr";
  log: string;
}
