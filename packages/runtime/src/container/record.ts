import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import { writeFileDurable } from "../durable-write.js";
import { hasCode, ignoring } from "../ignore.js";
import { ContainerErrorCode } from "./errors.js";
import type { EffectiveHealthcheck } from "./health.js";
import type { ProcessIdentity } from "./process-identity.js";
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
  /**
   * Written (durably) just before the process is let run: a crash between the two leaves a
   * record that says "maybe started", which `open` settles with `runc state`.
   */
  startRequestedAtMs?: number;
  startedAtMs?: number;
  pid?: number;
  /** Which process `pid` is (start time and boot): a pid reused after a reboot is not ours. */
  pidIdentity?: ProcessIdentity;
  /** Resolved at create from spec, then image, then SIGTERM. */
  stopSignal: string;
  stopGracePeriodMs: number;
  healthcheck?: EffectiveHealthcheck;
  /** For `runc exec` (health checks): the process identity and environment of the container. */
  execUser: string;
  execEnv: string[];
  execCwd: string;
}

/** Atomic and durable (temp, fsync, rename, dir fsync): a crash never leaves a torn or empty state.json. */
export async function writeRecord(paths: ContainerPaths, record: ContainerRecord): Promise<void> {
  await writeFileDurable(paths.record, JSON.stringify(record));
}

/** Atomic but not fsynced: a health report lost in a power cut only restarts the count. */
export async function writeHealth(paths: ContainerPaths, report: HealthReport): Promise<void> {
  const tmp = `${paths.health}.tmp`;
  await writeFile(tmp, JSON.stringify(report));
  await rename(tmp, paths.health);
}

/** The saved health report; undefined when there is none or it cannot be parsed (it only seeds the count). */
export async function readHealth(paths: ContainerPaths): Promise<HealthReport | undefined> {
  const text = await ignoring(readFile(paths.health, "utf8"), ["ENOENT"], undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as HealthReport;
  } catch {
    return undefined;
  }
}

/**
 * The container's record; undefined only when there is none (ENOENT: a create that died before
 * its first write, or a remove that got that far). A record that exists but cannot be read or
 * parsed throws `CONTAINER_RECORD_UNREADABLE`: taking it for "no record" would tear down a
 * container that may be running.
 */
export async function readRecord(paths: ContainerPaths): Promise<ContainerRecord | undefined> {
  let text: string;
  try {
    text = await readFile(paths.record, "utf8");
  } catch (err) {
    if (hasCode(err, ["ENOENT"])) return undefined;
    throw unreadable(paths, err);
  }
  let record: ContainerRecord;
  try {
    record = JSON.parse(text) as ContainerRecord;
  } catch (err) {
    throw unreadable(paths, err);
  }
  if (record === null || typeof record !== "object" || record.version !== 1 || record.id !== paths.id)
    throw unreadable(paths, new Error(`not a version 1 record of container "${paths.id}"`));
  return record;
}

function unreadable(paths: ContainerPaths, cause: unknown): ShoalError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ShoalError(
    ContainerErrorCode.RecordUnreadable,
    `container record "${paths.record}" cannot be read (${why}); the container was left as it is`,
    {
      cause,
      hint:
        `restore the file, or move "${paths.dir}" out of the containers dir to have the next open ` +
        "remove what is left of that container (process, cgroups, runc state)",
    },
  );
}
