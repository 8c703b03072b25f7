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
 * The orchestrators' pass: node state and constraints (which free slots), then each service's
 * orchestrator by mode (which fills them), then the reaper. One loop in the manager.
 */
export function orchestratorStep(view: ClusterView, ctx: ReconcileContext): Plan {
  const work = new WorkingView(view);
  work.apply(reconcileNodeState(work));
  work.apply(reconcileConstraints(work));
  const byService = tasksOfService(work.tasks);
  for (const service of [...work.services.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (service.pendingDelete) continue;
    work.apply(reconcileService({ service, tasks: byService.get(service.id) ?? [], nodes: work.nodes }, ctx));
  }
  work.apply(reconcileReaper(work));
  return work.plan();
}

/**
 * Every decision of one leader pass, in the order the loops reach them: allocation, the
 * orchestrators, allocation of the tasks they made, scheduling. Each step sees the ones before it;
 * the result is one plan against `view`. For tests and the simulation; the manager runs the same
 * steps as three loops (orchestratorStep, reconcileAllocator, planScheduling).
 */
export function reconcileCluster(view: ClusterView, ctx: ReconcileContext & { random: Random }): Plan {
  const work = new WorkingView(view);
  work.apply(reconcileAllocator(work, ctx));
  work.apply(orchestratorStep(work, ctx));
  work.apply(reconcileAllocator(work, ctx));
  work.apply(planScheduling(work, ctx));
  return work.plan();
}
