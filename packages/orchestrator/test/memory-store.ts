// An in-memory OrchestratorStore for tests only: version-checked updates, watch events that end
// each commit, and `put` for the writers that are not loops (control API, agents).
import type { Clock } from "@shoal/base";
import type { Cluster, Node, Service, Task } from "@shoal/proto";
import type { ClusterView, OrchestratorStore, Plan, StoreChange, UpdateOutcome } from "../src/index.js";

type Kind = "node" | "service" | "task";

export class MemoryStore implements OrchestratorStore {
  readonly nodes = new Map<string, Node>();
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  cluster: Cluster | undefined;
  commits = 0;
  private version = 0;
  private readonly watchers = new Set<(c: StoreChange) => void>();

  constructor(private readonly clock: Clock) {}

  view(): ClusterView {
    return {
      nodes: new Map(this.nodes),
      services: new Map(this.services),
      tasks: new Map(this.tasks),
      cluster: this.cluster,
    };
  }

  private stamp<
    T extends { meta?: { version: number; createdAtMs: number; updatedAtMs: number } | undefined },
  >(o: T, isNew: boolean): T {
    this.version++;
    const now = this.clock.now();
    return {
      ...o,
      meta: {
        version: this.version,
        createdAtMs: isNew ? now : (o.meta?.createdAtMs ?? now),
        updatedAtMs: now,
      },
    };
  }

  private table(kind: Kind): Map<string, Node | Service | Task> {
    return kind === "node" ? this.nodes : kind === "service" ? this.services : this.tasks;
  }

  /** A write by someone else (control API, dispatcher), committed at once. */
  put(kind: Kind, object: Node | Service | Task): void {
    const table = this.table(kind);
    const stamped = this.stamp(object, !table.has(object.id));
    if (kind === "service") (stamped as Service).specVersion = stamped.meta?.version ?? 0;
    table.set(object.id, stamped);
    this.emit([{ kind: "object", objectKind: kind, id: object.id }]);
  }

  async update(plan: Plan): Promise<UpdateOutcome> {
    const stale: string[] = [];
    const check = (kind: Kind, o: Node | Service | Task) => {
      const current = this.table(kind).get(o.id);
      if (current === undefined || current.meta?.version !== o.meta?.version) stale.push(o.id);
    };
    for (const c of plan.updateTasks) check("task", c.object);
    for (const c of plan.updateNodes) check("node", c.object);
    for (const c of plan.updateServices) check("service", c.object);
    for (const r of plan.removeTasks) if (!this.tasks.has(r.taskId)) stale.push(r.taskId);
    for (const c of plan.createTasks) if (this.tasks.has(c.object.id)) stale.push(c.object.id);
    if (stale.length > 0) return { kind: "conflict", objectIds: stale };
    const events: StoreChange[] = [];
    for (const c of plan.createTasks) this.tasks.set(c.object.id, this.stamp(c.object, true));
    for (const c of plan.updateTasks) this.tasks.set(c.object.id, this.stamp(c.object, false));
    for (const r of plan.removeTasks) this.tasks.delete(r.taskId);
    for (const c of plan.updateNodes) this.nodes.set(c.object.id, this.stamp(c.object, false));
    for (const c of plan.updateServices) this.services.set(c.object.id, this.stamp(c.object, false));
    for (const c of [...plan.createTasks, ...plan.updateTasks])
      events.push({ kind: "object", objectKind: "task", id: c.object.id });
    this.emit(events);
    return { kind: "committed" };
  }

  private emit(events: StoreChange[]): void {
    this.commits++;
    for (const w of this.watchers) {
      for (const e of events) w(e);
      w({ kind: "commit" });
    }
  }

  async *watch(signal: AbortSignal): AsyncIterable<StoreChange> {
    const queue: StoreChange[] = [];
    let wake: (() => void) | undefined;
    const push = (c: StoreChange) => {
      queue.push(c);
      wake?.();
    };
    const onAbort = () => wake?.();
    this.watchers.add(push);
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.watchers.delete(push);
      signal.removeEventListener("abort", onAbort);
    }
  }
}
