import type { Random } from "@shoal/base";
import { reconcileAllocator } from "./allocator/allocator.js";
import { reconcileConstraints } from "./constraint-enforcer.js";
import { reconcileNodeState } from "./node-state.js";
import type { Plan } from "./plan.js";
import { reconcileReaper } from "./reaper.js";
import { reconcileService } from "./reconcile-service.js";
import { planScheduling } from "./scheduling-step.js";
import { tasksOfService } from "./task-facts.js";
import { type ClusterView, type ReconcileContext, WorkingView } from "./view.js";

/**
 * Every decision of one leader pass, in the order the loops would reach them: node subnets and
 * ports, node state and constraints (which free slots), the services' orchestrators (which fill
 * them), allocation of the new tasks, scheduling, then the reaper. Each step sees the ones before
 * it; the result is one plan against `view`. Used by tests and the simulation; the manager runs
 * the same steps as separate loops.
 */
export function reconcileCluster(view: ClusterView, ctx: ReconcileContext & { random: Random }): Plan {
  const work = new WorkingView(view);
  work.apply(reconcileAllocator(work, ctx));
  work.apply(reconcileNodeState(work));
  work.apply(reconcileConstraints(work));
  const byService = tasksOfService(work.tasks);
  for (const service of [...work.services.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (service.pendingDelete) continue;
    work.apply(reconcileService({ service, tasks: byService.get(service.id) ?? [], nodes: work.nodes }, ctx));
  }
  work.apply(reconcileAllocator(work, ctx));
  work.apply(planScheduling(work, ctx));
  work.apply(reconcileReaper(work));
  return work.plan();
}
