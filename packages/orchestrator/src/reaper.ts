import { ClusterDefaults, type Task, TaskState } from "@shoal/proto";
import { type Plan, PlanBuilder } from "./plan.js";
import { hasEnded, isLive, isOnNode, newestFirst, withDesiredState } from "./task-facts.js";
import type { ClusterView } from "./view.js";

/** Old tasks kept per slot (per node for global services): the cluster's setting, default 5. */
export function historyLimitOf(view: ClusterView): number {
  return (
    view.cluster?.spec?.orchestration?.taskHistoryRetentionLimit ?? ClusterDefaults.taskHistoryRetentionLimit
  );
}

/**
 * An agent may still report the task: it was handed to a node that is still in the cluster and
 * has not ended. Deleting it would let the report recreate nothing and lose its container.
 */
export function mayStillReport(task: Task, view: ClusterView): boolean {
  return isOnNode(task) && !hasEnded(task) && view.nodes.has(task.nodeId);
}

/**
 * The task reaper: keeps the newest `limit` finished tasks per slot (per node for global
 * services) and deletes older ones; tasks of removed services are told REMOVE and deleted once
 * down. It never deletes a task an agent may still report. A negative limit keeps everything.
 */
export function reconcileReaper(view: ClusterView): Plan {
  const out = new PlanBuilder();
  const limit = historyLimitOf(view);
  const groups = new Map<string, Task[]>();
  for (const t of view.tasks.values()) {
    const service = view.services.get(t.serviceId);
    if (service === undefined || service.pendingDelete) {
      if (mayStillReport(t, view)) {
        if (t.desiredState < TaskState.REMOVE)
          out.updateTask(withDesiredState(t, TaskState.REMOVE), "service removed");
      } else {
        out.removeTask(t.id, "service removed and the task is down");
      }
      continue;
    }
    if (isLive(t)) continue;
    const key = `${t.serviceId}\u0000${t.slot > 0 ? `s${t.slot}` : `n${t.nodeId}`}`;
    let list = groups.get(key);
    if (list === undefined) {
      list = [];
      groups.set(key, list);
    }
    list.push(t);
  }
  if (limit < 0) return out.plan;
  for (const list of groups.values()) {
    const finished = list.filter((t) => !mayStillReport(t, view)).sort(newestFirst);
    for (const t of finished.slice(limit)) out.removeTask(t.id, `beyond the history limit of ${limit}`);
  }
  return out.plan;
}
