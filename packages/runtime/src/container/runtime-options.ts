import { join } from "node:path";
import { type Clock, type Logger, systemClock } from "@shoal/base";
import type { CrashPoint } from "./crash-points.js";
import type { ContainerImageSource, HealthReport } from "./types.js";

export interface ContainerRuntimeOptions {
  /** Data dir of this runtime: containers/, exits/, volumes/, sock/ (and runc/ by default). */
  root: string;
  /** runc's --root; private per runtime so tests and daemons never see each other's containers. */
  runcRoot?: string;
  /** Cgroup parent for every container of this node, e.g. "/shoal/<nodeId>". */
  cgroupParent: string;
  nodeId: string;
  images: ContainerImageSource;
  logger: Logger;
  clock?: Clock;
  conmonPath?: string;
  runcPath?: string;
  /** A static init for `init: true` containers (default `DEFAULT_INIT_PATH`, Debian's tini-static). */
  initPath?: string;
  /** The node's resolv.conf, the base of containers' (default /etc/resolv.conf). */
  hostResolvConfPath?: string;
  logMaxSizeBytes?: number;
  logMaxFiles?: number;
  /** How often every log is checked besides the watch-driven checks (default 1 s). */
  logSyncIntervalMs?: number;
  /** How often `wait` and log follow look for news when no watch event came (default 50 ms). */
  pollMs?: number;
  createTimeoutMs?: number;
  /** Called when a container's health status changes (starting → healthy → unhealthy …). */
  onHealthChange?: (id: string, report: HealthReport) => void;
  /** Tests only: the process SIGKILLs itself at this step (see `CrashPoint`). */
  crashAt?: CrashPoint;
}

export const DEFAULT_RUNC_PATH = "/usr/sbin/runc";
export const DEFAULT_CONMON_PATH = "/usr/bin/conmon";
export const DEFAULT_INIT_PATH = "/usr/bin/tini-static";
export const DEFAULT_HOST_RESOLV_CONF_PATH = "/etc/resolv.conf";
export const DEFAULT_LOG_MAX_SIZE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILES = 3;
export const DEFAULT_LOG_SYNC_INTERVAL_MS = 1000;
export const DEFAULT_POLL_MS = 50;
/** Log follow polls no faster than this, whatever `pollMs` says: each poll reads files. */
export const LOG_FOLLOW_MIN_POLL_MS = 100;
export const DEFAULT_CREATE_TIMEOUT_MS = 30_000;
/** Grace period between the stop signal and SIGKILL when the spec gives none. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** The options with every default filled in, once, in the constructor. */
export interface ResolvedOptions {
  root: string;
  runcRoot: string;
  cgroupParent: string;
  nodeId: string;
  images: ContainerImageSource;
  logger: Logger;
  clock: Clock;
  conmonPath: string;
  runcPath: string;
  initPath: string;
  hostResolvConfPath: string;
  logMaxSizeBytes: number;
  logMaxFiles: number;
  logSyncIntervalMs: number;
  pollMs: number;
  createTimeoutMs: number;
  onHealthChange: ((id: string, report: HealthReport) => void) | undefined;
  crashAt: CrashPoint | undefined;
}

export function resolveOptions(o: ContainerRuntimeOptions): ResolvedOptions {
  return {
    root: o.root,
    runcRoot: o.runcRoot ?? join(o.root, "runc"),
    cgroupParent: o.cgroupParent,
    nodeId: o.nodeId,
    images: o.images,
    logger: o.logger,
    clock: o.clock ?? systemClock,
    conmonPath: o.conmonPath ?? DEFAULT_CONMON_PATH,
    runcPath: o.runcPath ?? DEFAULT_RUNC_PATH,
    initPath: o.initPath ?? DEFAULT_INIT_PATH,
    hostResolvConfPath: o.hostResolvConfPath ?? DEFAULT_HOST_RESOLV_CONF_PATH,
    logMaxSizeBytes: o.logMaxSizeBytes ?? DEFAULT_LOG_MAX_SIZE_BYTES,
    logMaxFiles: o.logMaxFiles ?? DEFAULT_LOG_MAX_FILES,
    logSyncIntervalMs: o.logSyncIntervalMs ?? DEFAULT_LOG_SYNC_INTERVAL_MS,
    pollMs: o.pollMs ?? DEFAULT_POLL_MS,
    createTimeoutMs: o.createTimeoutMs ?? DEFAULT_CREATE_TIMEOUT_MS,
    onHealthChange: o.onHealthChange,
    crashAt: o.crashAt,
  };
}
