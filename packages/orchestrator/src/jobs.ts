import type { Service, Task } from "@shoal/proto";
import { reconcilePerNode } from "./global.js";
import { type Plan, PlanBuilder } from "./plan.js";
import { groupBySlot, type ServiceReconcileInput } from "./replicated.js";
import { fillGroup, type GroupScope, shutDownGroup, tendGroup } from "./slot-group.js";
import { hasEnded } from "./task-facts.js";
import type { ReconcileContext } from "./view.js";

/** The job iteration the service is at (bumped by `service update --force` or a spec change). */
export function jobIterationOf(service: Service): number {
  return service.jobStatus?.jobIteration ?? 0;
}

function taskIteration(task: Task): number {
  return task.jobIteration ?? 0;
}

/** Tasks of earlier iterations are shut down: a re-run starts over (Swarm's job iteration). */
function splitIterations(scope: GroupScope, tasks: readonly Task[], iteration: number): Task[] {
  const current: Task[] = [];
  const stale: Task[] = [];
  for (const t of tasks) (taskIteration(t) === iteration ? current : stale).push(t);
  shutDownGroup(scope, stale, `job iteration ${iteration} replaces earlier runs`);
  return current;
}

export function jobLimits(service: Service): { maxConcurrent: number; totalCompletions: number } {
  const mode = service.spec?.mode;
  if (mode?.$case !== "replicatedJob") return { maxConcurrent: 0, totalCompletions: 0 };
  const maxConcurrent = Math.max(0, mode.value.maxConcurrent ?? 1);
  return { maxConcurrent, totalCompletions: Math.max(0, mode.value.totalCompletions ?? maxConcurrent) };
}

/**
 * A replicated job: slots 1..totalCompletions, each done once one of its tasks of the current
 * iteration completed; at most maxConcurrent slots run at once, lowest slots first. Failed tasks
 * follow the restart policy (jobs default to on-failure); completed ones are never restarted.
 */
export function reconcileReplicatedJob(input: ServiceReconcileInput, ctx: ReconcileContext): Plan {
  const scope = jobScope(input, ctx);
  const { out, jobIteration: iteration } = scope;
  const { maxConcurrent, totalCompletions } = jobLimits(input.service);
  const current = splitIterations(scope, input.tasks, iteration);
  const bySlot = groupBySlot(current);
  const ids = new Set(current.map((t) => t.id));
  const earlierBySlot = groupBySlot(input.tasks.filter((t) => !ids.has(t.id)));
  let active = 0;
  const settled = new Set<number>();
  for (const [slot, group] of bySlot) {
    if (slot > totalCompletions) {
      shutDownGroup(scope, group, `slot ${slot}: beyond ${totalCompletions} completions`);
      continue;
    }
    const state = tendGroup(scope, { slot, nodeId: "" }, group);
    if (state.completed || state.live.length > 0) settled.add(slot);
    if (state.live.some((t) => !hasEnded(t))) active++;
  }
  for (let slot = 1; slot <= totalCompletions && active < maxConcurrent; slot++) {
    if (settled.has(slot)) continue;
    fillGroup(
      scope,
      { slot, nodeId: "" },
      bySlot.get(slot) ?? [],
      `job iteration ${iteration}: run slot ${slot}`,
      earlierBySlot.get(slot) ?? [],
    );
    active++;
  }
  return out.plan;
}

/** A global job: one run to completion per eligible node and iteration (new nodes get one too). */
export function reconcileGlobalJob(input: ServiceReconcileInput, ctx: ReconcileContext): Plan {
  const scope = jobScope(input, ctx);
  const { out, jobIteration: iteration } = scope;
  reconcilePerNode(input, scope, splitIterations(scope, input.tasks, iteration));
  return out.plan;
}

/** The scope both job reconcilers tend their groups in: the service's current job iteration. */
function jobScope(
  input: ServiceReconcileInput,
  ctx: ReconcileContext,
): GroupScope & { jobIteration: number } {
  const jobIteration = jobIterationOf(input.service);
  return {
    service: input.service,
    nodes: input.nodes,
    ctx,
    out: new PlanBuilder(),
    isJob: true,
    jobIteration,
  };
}
