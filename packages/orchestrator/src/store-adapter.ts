import { ShoalError } from "@shoal/base";
import {
  isTaskTerminal,
  type Network,
  NodeAvailability,
  PublishMode,
  type Service,
  type Task,
  TaskState,
} from "@shoal/proto";
import { type ReadTx, type Store, StoreErrorCode } from "@shoal/store";
import type { Plan } from "./plan.js";
import type { OrchestratorStore, StoreChange, UpdateOutcome, ViewScope } from "./store-port.js";
import { availabilityOf, isNodeDown } from "./task-facts.js";
import type { ClusterView } from "./view.js";

const WATCHED = new Set(["node", "service", "task", "cluster"]);

/**
 * The loops' port over `@shoal/store`: a view of the four tables they read, plans committed with
 * `batch` (transactions of at most 200 changes, each object at the version the plan read), and
 * the store's watch. A version conflict, also in a later transaction of a batch, is a conflict
 * outcome: what was committed before it stays, and the loop recomputes from the store.
 */
export function orchestratorStoreOf(store: Store): OrchestratorStore {
  return {
    view: (): ClusterView =>
      store.view((tx) => ({
        nodes: new Map(tx.nodes.list().map((n) => [n.id, n])),
        services: new Map(tx.services.list().map((s) => [s.id, s])),
        tasks: new Map(tx.tasks.list().map((t) => [t.id, t])),
        cluster: tx.clusters.list()[0],
        networks: new Map(tx.networks.list().map((n) => [n.id, n])),
      })),
    scopedView: (scope) => store.view((tx) => scopedViewOf(tx, scope)),
    update: (plan) => commit(store, plan),
    watch: (signal) => watchChanges(store, signal),
  };
}

function scopedViewOf(tx: ReadTx, scope: ViewScope): ClusterView {
  const allServices = tx.services.list();
  const wanted = new Set(scope.serviceIds);
  if (scope.progressed !== undefined) {
    for (const id of scope.progressed.serviceIds) {
      const s = tx.services.get(id);
      if (s !== undefined && scope.progressed.matters(s)) wanted.add(id);
    }
  }
  const tasks = new Map<string, Task>();
  if (scope.nodeIds.size > 0) {
    const held = scope.nodeServices;
    const holds = (id: string) => {
      if (held === undefined) return true;
      const s = tx.services.get(id);
      return s !== undefined && held(s);
    };
    for (const s of allServices) {
      const mode = s.spec?.mode?.$case;
      if ((mode === "global" || mode === "globalJob") && (held === undefined || held(s))) wanted.add(s.id);
    }
    const checked = new Map<string, boolean>();
    for (const nodeId of scope.nodeIds) {
      for (const t of tx.tasks.find("nodeId", nodeId)) {
        let ok = checked.get(t.serviceId);
        if (ok === undefined) {
          ok = wanted.has(t.serviceId) || holds(t.serviceId);
          checked.set(t.serviceId, ok);
        }
        if (!ok) continue;
        tasks.set(t.id, t);
        wanted.add(t.serviceId);
      }
    }
  }
  for (const id of wanted) for (const t of tx.tasks.find("serviceId", id)) tasks.set(t.id, t);
  const services = new Map<string, Service>();
  for (const s of allServices) if (scope.allServices || wanted.has(s.id)) services.set(s.id, s);
  const networks = tx.networks.list();
  return {
    nodes: new Map(tx.nodes.list().map((n) => [n.id, n])),
    services,
    tasks,
    cluster: tx.clusters.list()[0],
    // The allocator resolves a service's networks by id or name: a scoped pass needs them all.
    networks: new Map(networks.map((n) => [n.id, n])),
    networkTasks: networkTasksOf(tx, networks, allServices),
  };
}

/**
 * The tasks that may hold an overlay address: those whose template names a network (by id or
 * name, through the tasks' network index) and those of services publishing an ingress port (on
 * the ingress network). Empty without networks in use: a cluster without overlays pays nothing.
 */
function networkTasksOf(
  tx: ReadTx,
  networks: readonly Network[],
  services: readonly Service[],
): Map<string, Task> {
  const out = new Map<string, Task>();
  for (const n of networks) {
    for (const ref of new Set([n.id, n.spec?.name ?? n.id]))
      for (const t of tx.tasks.find("networkId", ref)) out.set(t.id, t);
  }
  for (const s of services) {
    if (!(s.endpoint?.ports ?? []).some((p) => p.publishMode !== PublishMode.HOST)) continue;
    for (const t of tx.tasks.find("serviceId", s.id)) out.set(t.id, t);
  }
  return out;
}

/**
 * A task that moved forward without ending, with the same desired state and node (or a first
 * one). A first node that is down, drained or gone is not progress: the scheduler may assign to
 * a node its view still had ready after the orchestrator's pass over that node's loss, and only
 * the orchestrator replaces the task (it used to notice by chance, in a pass over its own commit).
 */
function isProgressOnly(store: Store, old: Task | undefined, now: Task | undefined): boolean {
  if (old === undefined || now === undefined) return false;
  if (old.desiredState !== now.desiredState) return false;
  if (old.nodeId !== now.nodeId) {
    if (old.nodeId !== "") return false;
    const node = store.view((tx) => tx.nodes.get(now.nodeId));
    if (isNodeDown(node) || (node !== undefined && availabilityOf(node) === NodeAvailability.DRAIN))
      return false;
  }
  return !isTaskTerminal(now.status?.state ?? TaskState.NEW);
}

/**
 * A plan's changes are independent (one per object, each at the version the plan read): its
 * transactions are proposed at once, not one raft round after another. A conflict in any of them
 * is a conflict outcome as before; the loop recomputes from what did commit.
 */
const PIPELINED = { pipelined: true } as const;

async function commit(store: Store, plan: Plan): Promise<UpdateOutcome> {
  try {
    await store.batch((b) => {
      for (const c of plan.createTasks) b.update((tx) => tx.tasks.create(c.object));
      for (const c of plan.updateTasks) b.update((tx) => tx.tasks.update(c.object));
      for (const r of plan.removeTasks) b.update((tx) => tx.tasks.delete(r.taskId));
      for (const c of plan.updateNodes) b.update((tx) => tx.nodes.update(c.object));
      for (const c of plan.updateServices) b.update((tx) => tx.services.update(c.object));
    }, PIPELINED);
    return { kind: "committed" };
  } catch (err) {
    if (
      err instanceof ShoalError &&
      (err.code === StoreErrorCode.VersionConflict || err.code === StoreErrorCode.NotFound)
    ) {
      return { kind: "conflict", objectIds: [] };
    }
    throw err;
  }
}

async function* watchChanges(store: Store, signal: AbortSignal): AsyncIterable<StoreChange> {
  while (!signal.aborted) {
    try {
      for await (const e of store.watch({ signal })) {
        if (e.kind === "commit") yield { kind: "commit" };
        else if (e.objectKind === "task") {
          const now = e.object as Task | undefined;
          const old = e.old as Task | undefined;
          yield {
            kind: "object",
            objectKind: "task",
            id: e.id,
            serviceId: (now ?? old)?.serviceId ?? "",
            progressOnly: isProgressOnly(store, old, now),
            oldVersion: old === undefined ? -1 : (old.meta?.version ?? 0),
          };
        } else if (WATCHED.has(e.objectKind)) {
          const old = e.old as { meta?: { version: number } } | undefined;
          yield {
            kind: "object",
            objectKind: e.objectKind as "node" | "service" | "cluster",
            id: e.id,
            oldVersion: old === undefined ? -1 : (old.meta?.version ?? 0),
          };
        }
      }
    } catch (err) {
      // A watcher that fell behind is closed by the store; a full pass makes up for what it missed.
      if (!(err instanceof ShoalError && err.code === StoreErrorCode.WatchLagged)) throw err;
      yield { kind: "commit", resync: true };
    }
  }
}
