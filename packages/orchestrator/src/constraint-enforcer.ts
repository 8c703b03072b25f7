import { type Task, TaskState } from "@shoal/proto";
import { type Plan, PlanBuilder } from "./plan.js";
import {
  hasEnded,
  isLive,
  isNodeDown,
  isOnNode,
  newestFirst,
  nodeSatisfiesPlacement,
  withDesiredState,
} from "./task-facts.js";
import type { ClusterView } from "./view.js";

/**
 * Swarm's constraint enforcer: a task whose node no longer satisfies its constraints or platforms
 * (a label removed, say) is told to shut down; so are the newest tasks of a node whose capacity
 * dropped below what its tasks reserve, until the rest fit. Their orchestrators replace them.
 */
export function reconcileConstraints(view: ClusterView): Plan {
  const out = new PlanBuilder();
  const byNode = new Map<string, Task[]>();
  for (const t of view.tasks.values()) {
    if (!isOnNode(t) || hasEnded(t)) continue;
    let list = byNode.get(t.nodeId);
    if (list === undefined) {
      list = [];
      byNode.set(t.nodeId, list);
    }
    list.push(t);
  }
  for (const [nodeId, tasks] of byNode) {
    const node = view.nodes.get(nodeId);
    if (node === undefined || isNodeDown(node)) continue; // node-state's case
    const stopped = new Set<string>();
    for (const t of tasks) {
      if (!isLive(t) || nodeSatisfiesPlacement(t.spec, node)) continue;
      out.updateTask(
        withDesiredState(t, TaskState.SHUTDOWN),
        `node ${nodeId} no longer satisfies the placement of task ${t.id}`,
      );
      stopped.add(t.id);
    }
    const total = node.description?.resources;
    if (total === undefined) continue;
    // Tasks told to stop still hold what they reserve until they are gone; the decision counts them
    // as released, since nothing more can be done about them.
    let cpu = 0;
    let mem = 0;
    for (const t of tasks) {
      if (stopped.has(t.id) || !isLive(t)) continue;
      cpu += t.spec?.resources?.reservations?.nanoCpus ?? 0;
      mem += t.spec?.resources?.reservations?.memoryBytes ?? 0;
    }
    for (const t of tasks.filter((x) => isLive(x) && !stopped.has(x.id)).sort(newestFirst)) {
      if (cpu <= total.nanoCpus && mem <= total.memoryBytes) break;
      const r = t.spec?.resources?.reservations;
      if ((r?.nanoCpus ?? 0) === 0 && (r?.memoryBytes ?? 0) === 0) continue;
      cpu -= r?.nanoCpus ?? 0;
      mem -= r?.memoryBytes ?? 0;
      out.updateTask(
        withDesiredState(t, TaskState.SHUTDOWN),
        `node ${nodeId} no longer has the resources task ${t.id} reserves`,
      );
    }
  }
  return out.plan;
}
