import { readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Clock, Logger } from "@shoal/base";
import { ignoring } from "../ignore.js";
import { isRuncInit } from "./process-identity.js";
import { ContainerPaths, type ContainerRecord, readRecord, writeRecord } from "./record.js";
import type { Runc } from "./runc.js";
import {
  cleanupHalfCreatedRuncDirs,
  cleanupOrphans,
  type TeardownDeps,
  teardownContainer,
} from "./teardown.js";
import type { ContainerImageSource } from "./types.js";

/** What `open` did with what it found on disk. */
export interface RecoveryReport {
  adopted: string[];
  /** Containers torn down because a create or remove was interrupted, or runc/mount leftovers. */
  cleanedUp: string[];
  /** Adopted containers whose start was interrupted, settled with `runc state`: started or not. */
  settledStarts: { id: string; started: boolean }[];
  /** Image holds of containers that no longer exist, released (sources that list holders only). */
  releasedHolds: string[];
}

export function emptyRecoveryReport(): RecoveryReport {
  return { adopted: [], cleanedUp: [], settledStarts: [], releasedHolds: [] };
}

export interface RecoveryDeps {
  root: string;
  runc: Runc;
  images: ContainerImageSource;
  clock: Clock;
  logger: Logger;
  teardown: TeardownDeps;
}

/**
 * What `ContainerRuntime.open` does under the data dir's lock, before anything else runs: finishes
 * every create, start and remove a crash interrupted, and returns the records of the containers
 * to adopt. Each step is idempotent, so a crash during recovery is recovered by the next one.
 */
export async function recoverContainers(
  deps: RecoveryDeps,
): Promise<{ report: RecoveryReport; records: Map<string, ContainerRecord> }> {
  // The pid file of earlier versions; the lock replaced it.
  await rm(join(deps.root, "owner.pid"), { force: true });
  const report = emptyRecoveryReport();
  const records = new Map<string, ContainerRecord>();
  // Every record is read before anything is torn down: an unreadable one stops `open` with
  // nothing changed (its container may be running; it is not ours to guess).
  const found: [ContainerPaths, ContainerRecord | undefined][] = [];
  for (const id of await readdir(join(deps.root, "containers"))) {
    const paths = new ContainerPaths(deps.root, id);
    found.push([paths, await readRecord(paths)]);
  }
  report.cleanedUp.push(...(await cleanupHalfCreatedRuncDirs(deps.teardown)));
  for (const [paths, record] of found) {
    const id = paths.id;
    if (record === undefined || record.phase !== "created") {
      deps.logger.warn(
        { containerId: id, phase: record?.phase },
        "tearing down container left half-made or half-removed",
      );
      await teardownContainer(deps.teardown, paths, record);
      report.cleanedUp.push(id);
      continue;
    }
    if (record.startRequestedAtMs !== undefined && record.startedAtMs === undefined)
      report.settledStarts.push({ id, started: await settleStart(deps, paths, record) });
    records.set(id, record);
    // Idempotent per holder: re-adoption re-asserts the hold (the store may have lost it).
    if (record.imageId !== undefined) await deps.images.acquire(record.imageId, id);
    report.adopted.push(id);
  }
  report.cleanedUp.push(...(await cleanupOrphans(deps.teardown, new Set(records.keys()))));
  report.releasedHolds = await reconcileImageHolds(deps, records);
  // A half-created runc dir and its record's teardown name the same container once.
  report.cleanedUp = [...new Set(report.cleanedUp)];
  return { report, records };
}

/**
 * Releases the image holds of containers that are gone. Teardown releases a hold before it
 * deletes the record, so no crash of this version leaves one; this catches holds left by
 * anything else (an older version, a hand-deleted container dir).
 */
async function reconcileImageHolds(
  deps: RecoveryDeps,
  records: ReadonlyMap<string, ContainerRecord>,
): Promise<string[]> {
  const listed = deps.images.holderIds?.();
  if (listed === undefined) return [];
  const stale = listed.filter((holder) => !records.has(holder));
  for (const holder of stale) {
    deps.logger.warn({ containerId: holder }, "releasing the image hold of a container that does not exist");
    await deps.images.release(holder);
  }
  return stale;
}

/**
 * A start was requested but not recorded as done: the process died between the intent and the
 * record. runc knows whether the container's process was let run: it was unless runc still
 * calls it `created` and its pid is still runc's init (the fifo may be there for a moment after
 * the process was released). Records the answer and returns it.
 */
async function settleStart(
  deps: RecoveryDeps,
  paths: ContainerPaths,
  record: ContainerRecord,
): Promise<boolean> {
  const state = await deps.runc.state(record.id);
  const started = state === undefined || state.status !== "created" || !(await isRuncInit(state.pid));
  if (started) {
    record.startedAtMs = record.startRequestedAtMs ?? deps.clock.now();
    // runc tells "created" from "running" by the fifo; the released process makes it moot.
    await ignoring(unlink(join(deps.runc.root, record.id, "exec.fifo")), ["ENOENT"], undefined);
  } else {
    delete record.startRequestedAtMs;
  }
  await writeRecord(paths, record);
  deps.logger.info({ containerId: record.id, started }, "settled an interrupted start");
  return started;
}
