import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@shoal/base";
import { hasCode, ignoring } from "../ignore.js";
import { cgroupDir, MONITOR_CGROUP, removeCgroupTree } from "./cgroups.js";
import { type CrashPoint, crashPoint, CrashPoint as Step } from "./crash-points.js";
import { mountPointsUnder, unmount } from "./mounts.js";
import { isConmonOf } from "./process-identity.js";
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
  crashAt?: CrashPoint | undefined;
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
      if (!hasCode(err, ["ENOTEMPTY"]) || attempt >= 5) throw err;
      await sleep(20);
    }
  }
}

/**
 * Undoes everything a container may have, whatever stage it reached: every step tolerates its
 * object being absent, so this serves remove, a failed create and recovery after a crash alike.
 *
 * The record (`state.json`, in the container's dir) goes last, after the image hold is released:
 * a crash at any step leaves the record, so the next `open` finds the container and runs the
 * whole teardown again. (Removing the record first would leave an image held by nobody the
 * runtime knows, `IMAGE_IN_USE` forever.)
 */
export async function teardownContainer(
  deps: TeardownDeps,
  paths: ContainerPaths,
  record: ContainerRecord | undefined,
): Promise<void> {
  const id = paths.id;
  // One runc run: `delete --force` kills whatever still runs (all of it) before it deletes, and
  // takes a container runc does not know as done (was: `state`, `kill --all`, `delete`).
  await deps.runc.delete(id, true);
  // conmon leaves by itself once its container is gone; one stuck before `runc create` finished
  // (a crash mid-create) would wait forever, so it goes too.
  const conmonPid = Number((await ignoring(readFile(paths.conmonPidFile, "utf8"), ["ENOENT"], "")).trim());
  if (conmonPid > 0 && (await isConmonOf(conmonPid, id))) {
    try {
      process.kill(conmonPid, "SIGKILL");
    } catch (err) {
      if (!hasCode(err, ["ESRCH"])) throw err;
    }
    // It could still be writing its exit file into the dir we are about to delete.
    for (let i = 0; i < 200 && (await isConmonOf(conmonPid, id)); i++) await sleep(5);
  }
  for (const mp of await mountPointsUnder(paths.dir)) await unmount(mp);
  const cgroupsPath = record?.cgroupsPath ?? `${deps.cgroupParent.replace(/\/+$/, "")}/${id}`;
  const busy = await removeCgroupTree(cgroupsPath);
  if (busy.length > 0) deps.logger.warn({ containerId: id, busy }, "cgroups still busy after teardown");
  crashPoint(deps.crashAt, Step.TeardownBeforeRelease);
  // After the unmount: a force-removed image's layers may be freed by this release.
  await deps.images.release(id);
  crashPoint(deps.crashAt, Step.TeardownBeforeRecordRemoval);
  await rm(join(deps.exitDir, id), { force: true });
  await rm(join(deps.socketDir, id), { force: true });
  // Everything but the record, then the record, then the (empty) dir.
  for (const entry of await ignoring(readdir(paths.dir), ["ENOENT"], [] as string[])) {
    if (entry !== "state.json") await rm(join(paths.dir, entry), { recursive: true, force: true });
  }
  await rm(paths.record, { force: true });
  await removeDir(paths.dir);
}

/**
 * Removes what belongs to no known container: runc containers in our runc root, cgroups under our
 * parent, exit files. Left behind when a crash hit between two steps of a teardown.
 */
export async function cleanupOrphans(deps: TeardownDeps, known: Set<string>): Promise<string[]> {
  const orphans = new Set<string>();
  for (const s of await deps.runc.list()) if (!known.has(s.id)) orphans.add(s.id);
  const parentDir = cgroupDir("memory", deps.cgroupParent);
  for (const e of await ignoring(readdir(parentDir, { withFileTypes: true }), ["ENOENT"], [])) {
    if (e.isDirectory() && e.name !== MONITOR_CGROUP && !known.has(e.name)) orphans.add(e.name);
  }
  for (const f of await ignoring(readdir(deps.exitDir), ["ENOENT"], [] as string[]))
    if (!known.has(f)) orphans.add(f);
  for (const id of orphans) {
    deps.logger.warn({ containerId: id }, "removing leftovers of an unknown container");
    await teardownContainer(deps, new ContainerPaths(deps.root, id), undefined);
  }
  return [...orphans];
}

/**
 * Removes runc state dirs without runc's `state.json`: `runc create` killed before it wrote one
 * leaves `<runc root>/<id>/` holding only `exec.fifo`, which `runc list` skips and which makes
 * every later create of that id fail ("container with given ID already exists"). Only called by
 * `open`, under the root lock, when no create is in flight.
 */
export async function cleanupHalfCreatedRuncDirs(deps: TeardownDeps): Promise<string[]> {
  const removed: string[] = [];
  for (const e of await ignoring(readdir(deps.runc.root, { withFileTypes: true }), ["ENOENT"], [])) {
    if (!e.isDirectory()) continue;
    const dir = join(deps.runc.root, e.name);
    const files = await readdir(dir);
    if (files.includes("state.json")) continue;
    deps.logger.warn({ containerId: e.name, files }, "removing runc state left by an interrupted create");
    await rm(dir, { recursive: true, force: true });
    removed.push(e.name);
  }
  return removed;
}
