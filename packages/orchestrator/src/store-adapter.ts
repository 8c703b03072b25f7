import { ShoalError } from "@shoal/base";
import { type Store, StoreErrorCode } from "@shoal/store";
import type { Plan } from "./plan.js";
import type { OrchestratorStore, StoreChange, UpdateOutcome } from "./store-port.js";
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
    update: (plan) => commit(store, plan),
    watch: (signal) => watchChanges(store, signal),
  };
}

async function commit(store: Store, plan: Plan): Promise<UpdateOutcome> {
  try {
    await store.batch((b) => {
      for (const c of plan.createTasks) b.update((tx) => tx.tasks.create(c.object));
      for (const c of plan.updateTasks) b.update((tx) => tx.tasks.update(c.object));
      for (const r of plan.removeTasks) b.update((tx) => tx.tasks.delete(r.taskId));
      for (const c of plan.updateNodes) b.update((tx) => tx.nodes.update(c.object));
      for (const c of plan.updateServices) b.update((tx) => tx.services.update(c.object));
    });
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
        else if (WATCHED.has(e.objectKind)) {
          yield {
            kind: "object",
            objectKind: e.objectKind as "node" | "service" | "task" | "cluster",
            id: e.id,
          };
        }
      }
    } catch (err) {
      // A watcher that fell behind is closed by the store; a full pass makes up for what it missed.
      if (!(err instanceof ShoalError && err.code === StoreErrorCode.WatchLagged)) throw err;
      yield { kind: "commit" };
    }
  }
}
