import type { Node, Service, Task } from "@shoal/proto";

/**
 * What a reconciler decided: proto objects to create, replace (whole new versions) or delete, and
 * times to look again. Every change carries the reason a person reads in a debug log or a failing
 * test (nomad's reconcile results). Applying a plan is the loop's job, in one transaction.
 */
export interface Plan {
  createTasks: Change<Task>[];
  /** New versions of existing tasks (same id). The loop checks `meta.version` against the store. */
  updateTasks: Change<Task>[];
  removeTasks: { taskId: string; reason: string }[];
  updateNodes: Change<Node>[];
  updateServices: Change<Service>[];
  /** Reconcile again at `atMs` (restart delays, restart windows). The loop arms a Clock timer. */
  timers: { atMs: number; reason: string }[];
  /** Decisions that changed nothing in the store (a declined restart, a refused port). */
  notes: string[];
}

export interface Change<T> {
  object: T;
  reason: string;
}

export function emptyPlan(): Plan {
  return {
    createTasks: [],
    updateTasks: [],
    removeTasks: [],
    updateNodes: [],
    updateServices: [],
    timers: [],
    notes: [],
  };
}

export function isEmptyPlan(plan: Plan): boolean {
  return (
    plan.createTasks.length === 0 &&
    plan.updateTasks.length === 0 &&
    plan.removeTasks.length === 0 &&
    plan.updateNodes.length === 0 &&
    plan.updateServices.length === 0
  );
}

/** The earliest timer of the plan, if any. */
export function wakeAtMs(plan: Plan): number | undefined {
  let best: number | undefined;
  for (const t of plan.timers) if (best === undefined || t.atMs < best) best = t.atMs;
  return best;
}

/** One line per decision, for test failures and debug logs. */
export function describePlan(plan: Plan): string {
  const lines: string[] = [];
  for (const c of plan.createTasks)
    lines.push(`create task ${c.object.id} (slot ${c.object.slot}, node "${c.object.nodeId}"): ${c.reason}`);
  for (const c of plan.updateTasks) lines.push(`update task ${c.object.id}: ${c.reason}`);
  for (const r of plan.removeTasks) lines.push(`remove task ${r.taskId}: ${r.reason}`);
  for (const c of plan.updateNodes) lines.push(`update node ${c.object.id}: ${c.reason}`);
  for (const c of plan.updateServices) lines.push(`update service ${c.object.id}: ${c.reason}`);
  for (const t of plan.timers) lines.push(`wake at ${t.atMs}: ${t.reason}`);
  for (const n of plan.notes) lines.push(`note: ${n}`);
  return lines.length === 0 ? "(empty plan)" : lines.join("\n");
}

/** Collects one plan; a second change of the same task replaces the first (reasons joined). */
export class PlanBuilder {
  readonly plan = emptyPlan();
  private readonly created = new Map<string, number>();
  private readonly updated = new Map<string, number>();

  createTask(task: Task, reason: string): void {
    this.created.set(task.id, this.plan.createTasks.length);
    this.plan.createTasks.push({ object: task, reason });
  }

  updateTask(task: Task, reason: string): void {
    const c = this.created.get(task.id);
    if (c !== undefined) {
      this.plan.createTasks[c] = { object: task, reason: `${this.plan.createTasks[c]?.reason}; ${reason}` };
      return;
    }
    const u = this.updated.get(task.id);
    if (u !== undefined) {
      this.plan.updateTasks[u] = { object: task, reason: `${this.plan.updateTasks[u]?.reason}; ${reason}` };
      return;
    }
    this.updated.set(task.id, this.plan.updateTasks.length);
    this.plan.updateTasks.push({ object: task, reason });
  }

  removeTask(taskId: string, reason: string): void {
    this.plan.removeTasks.push({ taskId, reason });
  }

  updateNode(node: Node, reason: string): void {
    this.plan.updateNodes.push({ object: node, reason });
  }

  updateService(service: Service, reason: string): void {
    this.plan.updateServices.push({ object: service, reason });
  }

  wakeAt(atMs: number, reason: string): void {
    this.plan.timers.push({ atMs, reason });
  }

  note(text: string): void {
    this.plan.notes.push(text);
  }
}
