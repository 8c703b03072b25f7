import type { Cluster, Node, Service, Task } from "@shoal/proto";
import { emptyPlan, type Plan } from "./plan.js";

/** Everything a reconciler reads: one consistent snapshot of the store's objects. */
export interface ClusterView {
  nodes: ReadonlyMap<string, Node>;
  services: ReadonlyMap<string, Service>;
  tasks: ReadonlyMap<string, Task>;
  cluster?: Cluster | undefined;
}

/** The inputs every reconciler shares besides the view: time and task ids are parameters. */
export interface ReconcileContext {
  nowMs: number;
  /** Makes the id of each task a plan creates (tests pass a counter; the loop `newId`). */
  newTaskId: () => string;
}

export function viewOf(args: {
  nodes?: Iterable<Node>;
  services?: Iterable<Service>;
  tasks?: Iterable<Task>;
  cluster?: Cluster | undefined;
}): ClusterView {
  return {
    nodes: new Map([...(args.nodes ?? [])].map((n) => [n.id, n])),
    services: new Map([...(args.services ?? [])].map((s) => [s.id, s])),
    tasks: new Map([...(args.tasks ?? [])].map((t) => [t.id, t])),
    cluster: args.cluster,
  };
}

/**
 * A mutable copy of a view that plans are applied to, so that a sequence of reconcilers each sees
 * the decisions of the ones before it, and so that the combined plan has one version per object.
 */
export class WorkingView implements ClusterView {
  readonly nodes: Map<string, Node>;
  readonly services: Map<string, Service>;
  readonly tasks: Map<string, Task>;
  readonly cluster: Cluster | undefined;
  private readonly combined = emptyPlan();
  private readonly created = new Set<string>();

  constructor(view: ClusterView) {
    this.nodes = new Map(view.nodes);
    this.services = new Map(view.services);
    this.tasks = new Map(view.tasks);
    this.cluster = view.cluster;
  }

  /** Applies `plan` to this view and folds it into the combined plan (the last version wins). */
  apply(plan: Plan): void {
    for (const c of plan.createTasks) {
      this.tasks.set(c.object.id, c.object);
      this.created.add(c.object.id);
      this.combined.createTasks.push(c);
    }
    for (const c of plan.updateTasks) {
      this.tasks.set(c.object.id, c.object);
      if (this.created.has(c.object.id)) {
        const i = this.combined.createTasks.findIndex((x) => x.object.id === c.object.id);
        this.combined.createTasks[i] = {
          object: c.object,
          reason: `${this.combined.createTasks[i]?.reason}; ${c.reason}`,
        };
      } else {
        replaceOrPush(this.combined.updateTasks, c);
      }
    }
    for (const r of plan.removeTasks) {
      this.tasks.delete(r.taskId);
      this.combined.updateTasks = this.combined.updateTasks.filter((c) => c.object.id !== r.taskId);
      if (this.created.delete(r.taskId)) {
        this.combined.createTasks = this.combined.createTasks.filter((c) => c.object.id !== r.taskId);
      } else {
        this.combined.removeTasks.push(r);
      }
    }
    for (const c of plan.updateNodes) {
      this.nodes.set(c.object.id, c.object);
      replaceOrPush(this.combined.updateNodes, c);
    }
    for (const c of plan.updateServices) {
      this.services.set(c.object.id, c.object);
      replaceOrPush(this.combined.updateServices, c);
    }
    this.combined.timers.push(...plan.timers);
    this.combined.notes.push(...plan.notes);
  }

  /** Everything applied so far, as one plan against the original view. */
  plan(): Plan {
    return this.combined;
  }
}

function replaceOrPush<T extends { id: string }>(
  list: { object: T; reason: string }[],
  c: { object: T; reason: string },
): void {
  const i = list.findIndex((x) => x.object.id === c.object.id);
  if (i < 0) list.push(c);
  else list[i] = { object: c.object, reason: `${list[i]?.reason}; ${c.reason}` };
}
