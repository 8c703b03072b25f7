import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ignoring } from "../ignore.js";
import type { ContainerStats } from "./types.js";

/** cgroup v1 mount point; the hierarchies live below it, one per controller. */
export const CGROUP_V1_ROOT = "/sys/fs/cgroup";

/** Name of the cgroup (below the node's parent) that holds every conmon. */
export const MONITOR_CGROUP = "conmon";

/**
 * Moves a monitor out of the daemon's cgroup into `<parent>/conmon` in the hierarchies that
 * systemd tracks services by (name=systemd on v1, the unified one on hybrid). Otherwise stopping
 * a daemon unit with the default KillMode=control-group would kill every conmon with it, and
 * containers would lose their log pipes and exit codes. Returns the hierarchies it moved it in.
 */
export async function moveToMonitorCgroup(
  pid: number,
  cgroupParent: string,
  root = CGROUP_V1_ROOT,
): Promise<string[]> {
  const moved: string[] = [];
  for (const hierarchy of ["systemd", "unified"]) {
    const base = join(root, hierarchy);
    if ((await ignoring(readdir(base), ["ENOENT", "ENOTDIR"], undefined)) === undefined) continue;
    const dir = join(base, cgroupParent, MONITOR_CGROUP);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "cgroup.procs"), `${pid}\n`);
    moved.push(hierarchy);
  }
  return moved;
}

export function cgroupDir(controller: string, cgroupsPath: string, root = CGROUP_V1_ROOT): string {
  return join(root, controller, cgroupsPath);
}

async function readNumber(path: string): Promise<number | undefined> {
  try {
    const n = Number((await readFile(path, "utf8")).trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Above this the v1 memory limit means "unlimited" (the kernel reports PAGE_COUNTER_MAX pages). */
const UNLIMITED_BYTES = 2 ** 60;

/** Usage from the container's v1 cgroup files; undefined once the cgroup is gone. */
export async function readStats(
  cgroupsPath: string,
  nowMs: number,
  root = CGROUP_V1_ROOT,
): Promise<ContainerStats | undefined> {
  const mem = cgroupDir("memory", cgroupsPath, root);
  const usage = await readNumber(join(mem, "memory.usage_in_bytes"));
  if (usage === undefined) return undefined;
  const cpu = (await readNumber(join(cgroupDir("cpuacct", cgroupsPath, root), "cpuacct.usage"))) ?? 0;
  const limit = await readNumber(join(mem, "memory.limit_in_bytes"));
  const maxUsage = (await readNumber(join(mem, "memory.max_usage_in_bytes"))) ?? usage;
  const pids = (await readNumber(join(cgroupDir("pids", cgroupsPath, root), "pids.current"))) ?? 0;
  let inactiveFile = 0;
  try {
    const stat = await readFile(join(mem, "memory.stat"), "utf8");
    const m = /^total_inactive_file (\d+)$/m.exec(stat);
    if (m !== null) inactiveFile = Number(m[1]);
  } catch {
    // memory.stat vanished with the cgroup; usage alone is still a fair answer.
  }
  const stats: ContainerStats = {
    timestampMs: nowMs,
    cpuUsageNs: cpu,
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: Math.max(0, usage - inactiveFile),
    memoryMaxUsageBytes: maxUsage,
    pids,
  };
  if (limit !== undefined && limit < UNLIMITED_BYTES) stats.memoryLimitBytes = limit;
  return stats;
}

/** CPU use between two samples as a percentage of one CPU (200 = two CPUs busy). */
export function cpuPercent(prev: ContainerStats, cur: ContainerStats): number {
  const wallNs = (cur.timestampMs - prev.timestampMs) * 1e6;
  if (wallNs <= 0) return 0;
  return (Math.max(0, cur.cpuUsageNs - prev.cpuUsageNs) / wallNs) * 100;
}

/**
 * Removes `cgroupsPath` (and any leftover children) in every v1 hierarchy. rmdir on a cgroup only
 * succeeds once it has no tasks, which is exactly the guarantee wanted; busy ones are reported.
 */
export async function removeCgroupTree(cgroupsPath: string, root = CGROUP_V1_ROOT): Promise<string[]> {
  const busy: string[] = [];
  const controllers = await ignoring(readdir(root), ["ENOENT"], [] as string[]);
  for (const c of controllers) {
    await removeDirTree(join(root, c, cgroupsPath), busy);
  }
  return busy;
}

async function removeDirTree(dir: string, busy: string[]): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeDirTree(join(dir, e.name), busy);
  try {
    await rmdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") busy.push(dir);
  }
}

/** Cgroup dirs that exist for `cgroupsPath` in any hierarchy (leak checks in tests). */
export async function existingCgroupDirs(cgroupsPath: string, root = CGROUP_V1_ROOT): Promise<string[]> {
  const out: string[] = [];
  for (const c of await ignoring(readdir(root), ["ENOENT"], [] as string[])) {
    const dir = join(root, c, cgroupsPath);
    if ((await ignoring(readdir(dir), ["ENOENT", "ENOTDIR"], undefined)) !== undefined) out.push(dir);
  }
  return out;
}
