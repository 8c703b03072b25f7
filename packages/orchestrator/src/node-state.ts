import { NodeAvailability, TaskState } from "@shoal/proto";
import { type Plan, PlanBuilder } from "./plan.js";
import { availabilityOf, hasEnded, isLive, isNodeDown, withDesiredState } from "./task-facts.js";
import type { ClusterView } from "./view.js";

/**
 * Node loss and drain, for every service at once: the live tasks of a node that is down, drained
 * or removed are told to shut down, so the service's orchestrator replaces them in the same pass
 * (Swarm waits on a down node; we do not need to). A down node's tasks keep desired SHUTDOWN, so
 * when it returns its agent stops the stale containers. Pause changes nothing here.
 */
export function reconcileNodeState(view: ClusterView): Plan {
  const out = new PlanBuilder();
  for (const task of view.tasks.values()) {
    if (task.nodeId === "" || !isLive(task) || hasEnded(task)) continue;
    const node = view.nodes.get(task.nodeId);
    let reason: string | undefined;
    if (node === undefined) reason = `node ${task.nodeId} removed`;
    else if (isNodeDown(node)) reason = `node ${task.nodeId} is down`;
    else if (availabilityOf(node) === NodeAvailability.DRAIN) reason = `node ${task.nodeId} is drained`;
    if (reason !== undefined)
      out.updateTask(withDesiredState(task, TaskState.SHUTDOWN), `${reason}; replace task ${task.id}`);
  }
  return out.plan;
}
