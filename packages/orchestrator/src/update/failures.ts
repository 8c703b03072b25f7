import { type Task, TaskState } from "@shoal/proto";
import type { PlanBuilder } from "../plan.js";
import { hasEnded, isLive, observedState } from "../task-facts.js";
import { healthOf, isUp } from "./task-health.js";

/** A task of the current roll that counts against `maxFailureRatio`, and why. */
export interface UpdateFailure {
  taskId: string;
  slot: number;
  nodeId: string;
  reason: string;
}

/** How many failed tasks a status message names before "and N more". */
const NAMED_FAILURES = 5;

/**
 * The tasks of this roll that failed within their monitor window (swarmkit counts a task that
 * failed before it was seen running, or within `monitor` after): it ended on its own (failed,
 * rejected, or exited), its agent reports it unhealthy, or it ran for `monitor` without becoming
 * healthy. A task past its window is the restart supervisor's again. Adds a wake-up for each
 * window still open on a task that is running but not healthy.
 */
export function countFailures(
  tasks: readonly Task[],
  ofThisRoll: (t: Task) => boolean,
  monitorMs: number,
  nowMs: number,
  out: PlanBuilder,
): UpdateFailure[] {
  const failures: UpdateFailure[] = [];
  for (const t of tasks) {
    if (!ofThisRoll(t)) continue;
    const state = observedState(t);
    const atMs = t.status?.timestampMs ?? 0;
    if (hasEnded(t)) {
      if (state === TaskState.SHUTDOWN) continue; // told to stop (or stopped by someone), not a failure
      const upAtMs = t.upAtMs ?? 0;
      if (upAtMs === 0 || atMs <= upAtMs + monitorMs) failures.push({ ...whereOf(t), reason: endReason(t) });
      continue;
    }
    if (!isLive(t) || state !== TaskState.RUNNING || isUp(t)) continue;
    if (healthOf(t) === "unhealthy") {
      failures.push({ ...whereOf(t), reason: "unhealthy" });
    } else if (nowMs >= atMs + monitorMs) {
      failures.push({ ...whereOf(t), reason: `not healthy within the ${monitorMs} ms monitor` });
    } else {
      out.wakeAt(atMs + monitorMs, `task ${t.id}: health check within its update monitor`);
    }
  }
  return failures.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
}

function whereOf(t: Task): { taskId: string; slot: number; nodeId: string } {
  return { taskId: t.id, slot: t.slot, nodeId: t.nodeId };
}

function endReason(t: Task): string {
  const state = observedState(t);
  const err = t.status?.err || t.status?.message || "";
  const exit = t.status?.containerStatus?.exitCode;
  const what =
    state === TaskState.REJECTED
      ? "rejected"
      : state === TaskState.COMPLETE
        ? "exited early"
        : exit !== undefined && exit !== 0
          ? `failed (exit ${exit})`
          : "failed";
  return err === "" ? what : `${what}: ${err}`;
}

/** "task t1 (failed (exit 1): boom), task t2 (unhealthy) and 3 more". */
export function describeFailures(failures: readonly UpdateFailure[]): string {
  const named = failures.slice(0, NAMED_FAILURES).map((f) => `task ${f.taskId} (${f.reason})`);
  const more = failures.length - named.length;
  return `${named.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}
