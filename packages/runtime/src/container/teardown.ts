import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@shoal/base";
import { cgroupDir, MONITOR_CGROUP, removeCgroupTree } from "./cgroups.js";
import { mountPointsUnder, unmount } from "./mounts.js";
import { ContainerPaths, type ContainerRecord } from "./record.js";
import type { Runc } from "./runc.js";
import type { ContainerImageSource } from "./types.js";

export interface TeardownDeps {
  runc: Runc;
  images: ContainerImageSource;
  root: string;
  exitDir: string;
  socketDir: string;
  cgroupParent: string;
  logger: Logger;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** rm -r that survives a straggler (a log link, a late exit file) appearing while it runs. */
async function removeDir(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await rm(dir, { recursive: true, force: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOTEMPTY" || attempt >= 5) throw err;
      await sleep(20);
    }
  }
}

/** True when `pid` is a live conmon monitoring container `id` (pids get reused). */
async function isOurConmon(pid: number, id: string): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") return false;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
    return cmdline[0]?.endsWith("conmon") === true && cmdline.includes(id);
  } catch {
    return false;
  }
}

/**
 * Undoes everything a container may have, whatever stage it reached: every step tolerates its
 * object being absent, so this serves remove, a failed create and recovery after a crash alike.
 */
export async function teardownContainer(
  deps: TeardownDeps,
  paths: ContainerPaths,
  record: ContainerRecord | undefined,
): Promise<void> {
  const id = paths.id;
  const state = await deps.runc.state(id).catch(() => undefined);
  if (state !== undefined) {
    if (state.status !== "stopped") await deps.runc.kill(id, "SIGKILL", true).catch(() => false);
    await deps.runc.delete(id, true);
  }
  // conmon leaves by itself once its container is gone; one stuck before `runc create` finished
  // (a crash mid-create) would wait forever, so it goes too.
  const conmonPid = Number((await readFile(paths.conmonPidFile, "utf8").catch(() => "")).trim());
  if (conmonPid > 0 && (await isOurConmon(conmonPid, id))) {
    try {
      process.kill(conmonPid, "SIGKILL");
    } catch {
      // exited in between
    }
    // It could still be writing its exit file into the dir we are about to delete.
    for (let i = 0; i < 200 && (await isOurConmon(conmonPid, id)); i++) await sleep(5);
  }
  for (const mp of await mountPointsUnder(paths.dir)) await unmount(mp);
  const cgroupsPath = record?.cgroupsPath ?? `${deps.cgroupParent.replace(/\/+$/, "")}/${id}`;
  const busy = await removeCgroupTree(cgroupsPath);
  if (busy.length > 0) deps.logger.warn({ containerId: id, busy }, "cgroups still busy after teardown");
  await removeDir(paths.dir);
  await rm(join(deps.exitDir, id), { force: true });
  await rm(join(deps.socketDir, id), { force: true });
  await deps.images.release(id);
}

/**
 * Removes what belongs to no known container: runc containers in our runc root, cgroups under our
 * parent, exit files. Left behind when a crash hit between two steps of a teardown.
 */
export async function cleanupOrphans(deps: TeardownDeps, known: Set<string>): Promise<string[]> {
  const orphans = new Set<string>();
  for (const s of await deps.runc.list().catch(() => [])) if (!known.has(s.id)) orphans.add(s.id);
  const parentDir = cgroupDir("memory", deps.cgroupParent);
  for (const e of await readdir(parentDir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory() && e.name !== MONITOR_CGROUP && !known.has(e.name)) orphans.add(e.name);
  }
  for (const f of await readdir(deps.exitDir).catch(() => [] as string[])) if (!known.has(f)) orphans.add(f);
  for (const id of orphans) {
    deps.logger.warn({ containerId: id }, "removing leftovers of an unknown container");
    await teardownContainer(deps, new ContainerPaths(deps.root, id), undefined);
  }
  return [...orphans];
}
