import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EffectiveHealthcheck } from "./health.js";
import type { ContainerSpec, HealthReport, NetworkAttachment } from "./types.js";

/**
 * Where a container lives on disk: `<root>/containers/<id>/` holds the bundle (config.json,
 * rootfs mount point, overlay upper/work), the generated /etc files, conmon's pid, exit and oom
 * files, and the log. One directory per container makes remove one `rm -r` after the unmount.
 */
export class ContainerPaths {
  readonly dir: string;
  constructor(
    root: string,
    readonly id: string,
  ) {
    this.dir = join(root, "containers", id);
  }
  get record() {
    return join(this.dir, "state.json");
  }
  get config() {
    return join(this.dir, "config.json");
  }
  get rootfs() {
    return join(this.dir, "rootfs");
  }
  get upper() {
    return join(this.dir, "upper");
  }
  get work() {
    return join(this.dir, "work");
  }
  get hosts() {
    return join(this.dir, "hosts");
  }
  get hostname() {
    return join(this.dir, "hostname");
  }
  get resolvConf() {
    return join(this.dir, "resolv.conf");
  }
  get pidFile() {
    return join(this.dir, "pid");
  }
  get conmonPidFile() {
    return join(this.dir, "conmon.pid");
  }
  get conmonStderr() {
    return join(this.dir, "conmon.err");
  }
  get log() {
    return join(this.dir, "ctr.log");
  }
  /** conmon's persist dir is the container dir: it writes `exit` and `oom` here. */
  get exitFile() {
    return join(this.dir, "exit");
  }
  get oomFile() {
    return join(this.dir, "oom");
  }
  /** The last health report, so a restarted runtime does not fall back to "starting". */
  get health() {
    return join(this.dir, "health.json");
  }
}

/**
 * Life-cycle marks that make crashes recoverable: a record still `creating` or `removing` when the
 * runtime starts was interrupted half-way, and is torn down completely.
 */
export type RecordPhase = "creating" | "created" | "removing";

/** What the runtime persists per container (state.json); enough to re-adopt after a restart. */
export interface ContainerRecord {
  version: 1;
  id: string;
  name: string;
  labels: Record<string, string>;
  phase: RecordPhase;
  imageRef: string;
  /** Set once the image is acquired. */
  imageId?: string;
  spec: ContainerSpec;
  network: NetworkAttachment;
  cgroupsPath: string;
  logMaxSizeBytes: number;
  logMaxFiles: number;
  createdAtMs: number;
  startedAtMs?: number;
  pid?: number;
  /** Resolved at create from spec, then image, then SIGTERM. */
  stopSignal: string;
  stopGracePeriodMs: number;
  healthcheck?: EffectiveHealthcheck;
  /** For `runc exec` (health checks): the process identity and environment of the container. */
  execUser: string;
  execEnv: string[];
  execCwd: string;
}

/** Writes via rename so a crash never leaves a torn state.json. */
export async function writeRecord(paths: ContainerPaths, record: ContainerRecord): Promise<void> {
  const tmp = `${paths.record}.tmp`;
  await writeFile(tmp, JSON.stringify(record));
  await rename(tmp, paths.record);
}

export async function writeHealth(paths: ContainerPaths, report: HealthReport): Promise<void> {
  const tmp = `${paths.health}.tmp`;
  await writeFile(tmp, JSON.stringify(report));
  await rename(tmp, paths.health);
}

export async function readHealth(paths: ContainerPaths): Promise<HealthReport | undefined> {
  try {
    return JSON.parse(await readFile(paths.health, "utf8")) as HealthReport;
  } catch {
    return undefined;
  }
}

export async function readRecord(paths: ContainerPaths): Promise<ContainerRecord | undefined> {
  try {
    return JSON.parse(await readFile(paths.record, "utf8")) as ContainerRecord;
  } catch {
    return undefined;
  }
}
