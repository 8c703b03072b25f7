// Which task status reports of a node the dispatcher writes (pure). A node may report only the
// tasks assigned to it — one report about another node's task refuses the whole request, since
// it means a confused or malicious agent — and only forward moves: a stale or repeated report
// (the agent re-reports everything after a reconnect) is dropped, not an error.
import { ShoalError } from "@shoal/base";
import { isForwardTaskTransition, type Task, type TaskStatusUpdate } from "@shoal/proto";
import { ManagerErrorCode } from "../errors.js";

export interface StatusUpdateDecision {
  /** Reports to write, at most one per task (the last of a task wins). */
  accepted: TaskStatusUpdate[];
  /** Task ids whose report was dropped: unknown task, or not a forward move. */
  dropped: string[];
}

/** Throws MANAGER_NOT_OWN_TASK when a report names a task of another node. */
export function decideStatusUpdates(
  nodeId: string,
  updates: readonly TaskStatusUpdate[],
  taskById: (id: string) => Task | undefined,
): StatusUpdateDecision {
  const latest = new Map<string, TaskStatusUpdate>();
  const dropped: string[] = [];
  for (const update of updates) {
    const task = taskById(update.taskId);
    if (task === undefined) {
      dropped.push(update.taskId);
      continue;
    }
    if (task.nodeId !== nodeId) {
      throw new ShoalError(
        ManagerErrorCode.NotOwnTask,
        `node "${nodeId}" reported the status of task "${update.taskId}", which is assigned to ${task.nodeId === "" ? "no node" : `node "${task.nodeId}"`}`,
        { details: { taskId: update.taskId, nodeId } },
      );
    }
    const status = update.status;
    const current = latest.get(update.taskId)?.status?.state ?? task.status?.state ?? 0;
    if (status === undefined || !isForwardTaskTransition(current, status.state)) {
      dropped.push(update.taskId);
      continue;
    }
    latest.set(update.taskId, update);
  }
  return { accepted: [...latest.values()], dropped };
}
