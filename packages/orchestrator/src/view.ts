import type { Cluster, Network, Node, Service, Task } from "@shoal/proto";
import type { Change, Plan } from "./plan.js";

/** Everything a reconciler reads: one consistent snapshot of the store's objects. */
export interface ClusterView {
  nodes: ReadonlyMap<string, Node>;
  services: ReadonlyMap<string, Service>;
  tasks: ReadonlyMap<string, Task>;
  cluster?: Cluster | undefined;
  /** The networks (read only by the allocator: subnets, VIPs, task addresses per network). */
  networks?: ReadonlyMap<string, Network> | undefined;
  /**
   * With a scoped view (`tasks` holds only some services'): every task that may hold an address
   * on an overlay network, so the allocator's address book never hands one out twice.
   */
  networkTasks?: ReadonlyMap<string, Task> | undefined;
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
  networks?: Iterable<Network>;
}): ClusterView {
  return {
    nodes: new Map([...(args.nodes ?? [])].map((n) => [n.id, n])),
    services: new Map([...(args.services ?? [])].map((s) => [s.id, s])),
    tasks: new Map([...(args.tasks ?? [])].map((t) => [t.id, t])),
    cluster: args.cluster,
    networks: new Map([...(args.networks ?? [])].map((n) => [n.id, n])),
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
  readonly networks: ReadonlyMap<string, Network> | undefined;
  readonly networkTasks: ReadonlyMap<string, Task> | undefined;
  // The combined plan, one entry per object (by id, in first-change order).
  private readonly createdTasks = new Map<string, Change<Task>>();
  private readonly updatedTasks = new Map<string, Change<Task>>();
  private readonly removedTasks = new Map<string, string>();
  private readonly updatedNodes = new Map<string, Change<Node>>();
  private readonly updatedServices = new Map<string, Change<Service>>();
  private readonly timers: Plan["timers"] = [];
  private readonly notes: string[] = [];

  constructor(view: ClusterView) {
    this.nodes = new Map(view.nodes);
    this.services = new Map(view.services);
    this.tasks = new Map(view.tasks);
    this.cluster = view.cluster;
    this.networks = view.networks;
    this.networkTasks = view.networkTasks;
  }

  /** Applies `plan` to this view and folds it into the combined plan (the last version wins). */
  apply(plan: Plan): void {
    for (const c of plan.createTasks) {
      this.tasks.set(c.object.id, c.object);
      this.createdTasks.set(c.object.id, c);
    }
    for (const c of plan.updateTasks) {
      this.tasks.set(c.object.id, c.object);
      const created = this.createdTasks.get(c.object.id);
      if (created !== undefined) this.createdTasks.set(c.object.id, merge(created, c));
      else mergeInto(this.updatedTasks, c);
    }
    for (const r of plan.removeTasks) {
      this.tasks.delete(r.taskId);
      this.updatedTasks.delete(r.taskId);
      if (!this.createdTasks.delete(r.taskId)) this.removedTasks.set(r.taskId, r.reason);
    }
    for (const c of plan.updateNodes) {
      this.nodes.set(c.object.id, c.object);
      mergeInto(this.updatedNodes, c);
    }
    for (const c of plan.updateServices) {
      this.services.set(c.object.id, c.object);
      mergeInto(this.updatedServices, c);
    }
    this.timers.push(...plan.timers);
    this.notes.push(...plan.notes);
  }

  /** Everything applied so far, as one plan against the original view. */
  plan(): Plan {
    return {
      createTasks: [...this.createdTasks.values()],
      updateTasks: [...this.updatedTasks.values()],
      removeTasks: [...this.removedTasks].map(([taskId, reason]) => ({ taskId, reason })),
      updateNodes: [...this.updatedNodes.values()],
      updateServices: [...this.updatedServices.values()],
      timers: [...this.timers],
      notes: [...this.notes],
    };
  }
}

function merge<T>(before: Change<T>, after: Change<T>): Change<T> {
  return { object: after.object, reason: `${before.reason}; ${after.reason}` };
}

function mergeInto<T extends { id: string }>(map: Map<string, Change<T>>, c: Change<T>): void {
  const before = map.get(c.object.id);
  map.set(c.object.id, before === undefined ? c : merge(before, c));
}
