import { emptyPlan, type Plan } from "../plan.js";
import { tasksOfService } from "../task-facts.js";
import type { ClusterView, ReconcileContext } from "../view.js";
import { planServiceUpdate } from "./plan-update.js";

/** The updater loop's pass: each service's rolling update (or rollback), in service id order. */
export function updaterStep(view: ClusterView, ctx: ReconcileContext): Plan {
  const plan = emptyPlan();
  const byService = tasksOfService(view.tasks);
  for (const service of [...view.services.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    // Services touch disjoint tasks, so their plans simply add up.
    const p = planServiceUpdate({ service, tasks: byService.get(service.id) ?? [], nodes: view.nodes }, ctx);
    plan.createTasks.push(...p.createTasks);
    plan.updateTasks.push(...p.updateTasks);
    plan.updateServices.push(...p.updateServices);
    plan.timers.push(...p.timers);
    plan.notes.push(...p.notes);
  }
  return plan;
}
