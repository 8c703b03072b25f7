import type { Node, Service, Task } from "@shoal/proto";
import { TaskState } from "@shoal/proto";
import { type Plan, PlanBuilder } from "./plan.js";
import { fillGroup, type GroupScope, shutDownGroup, tendGroup } from "./slot-group.js";
import { hasEnded, isLive, observedState } from "./task-facts.js";
import type { ReconcileContext } from "./view.js";

export interface ServiceReconcileInput {
  service: Service;
  /** Every task of the service, any state. */
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
}

/** The replica count of a replicated service (Swarm's default 1 when unset). */
export function replicasOf(service: Service): number {
  const mode = service.spec?.mode;
  if (mode === undefined) return 1;
  return mode.$case === "replicated" ? Math.max(0, mode.value.replicas ?? 1) : 0;
}

export function groupBySlot(tasks: readonly Task[]): Map<number, Task[]> {
  const slots = new Map<number, Task[]>();
  for (const t of tasks) {
    let list = slots.get(t.slot);
    if (list === undefined) {
      list = [];
      slots.set(t.slot, list);
    }
    list.push(t);
  }
  return slots;
}

/**
 * A replicated service: one live task per slot, `replicas` slots. Ended tasks go to the restart
 * supervisor; free slot numbers are reused lowest first (a slot keeps its history); scale-down
 * picks slots whose task is not running, then those on the nodes holding most of the service's
 * tasks, then the highest slot.
 */
export function reconcileReplicated(input: ServiceReconcileInput, ctx: ReconcileContext): Plan {
  const out = new PlanBuilder();
  const scope: GroupScope = { service: input.service, nodes: input.nodes, ctx, out, isJob: false };
  const replicas = replicasOf(input.service);
  const occupied = new Map<number, Task[]>();
  const bySlot = groupBySlot(input.tasks);
  for (const [slot, group] of bySlot) {
    const state = tendGroup(scope, { slot, nodeId: "" }, group);
    if (state.live.length > 0) occupied.set(slot, state.live);
  }
  if (occupied.size > replicas) scaleDown(scope, occupied, replicas);
  let missing = replicas - occupied.size;
  for (let slot = 1; missing > 0; slot++) {
    if (occupied.has(slot)) continue;
    fillGroup(scope, { slot, nodeId: "" }, bySlot.get(slot) ?? [], `scale to ${replicas} replicas`);
    missing--;
  }
  return out.plan;
}

function scaleDown(scope: GroupScope, occupied: Map<number, Task[]>, replicas: number): void {
  const perNode = new Map<string, number>();
  for (const live of occupied.values()) {
    for (const t of live) if (t.nodeId !== "") perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
  }
  const facts = [...occupied].map(([slot, live]) => {
    const t = live[0] as Task;
    const running = !hasEnded(t) && observedState(t) === TaskState.RUNNING;
    return { slot, live, running, onNode: t.nodeId === "" ? 0 : (perNode.get(t.nodeId) ?? 0) };
  });
  facts.sort((a, b) => Number(a.running) - Number(b.running) || b.onNode - a.onNode || b.slot - a.slot);
  for (const f of facts.slice(0, occupied.size - replicas)) {
    shutDownGroup(scope, f.live.filter(isLive), `slot ${f.slot}: scale down to ${replicas} replicas`);
    occupied.delete(f.slot);
  }
}
