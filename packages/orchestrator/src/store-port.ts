import type { Plan } from "./plan.js";
import type { ClusterView } from "./view.js";

/**
 * What the loops need from the store, and nothing more: the store package satisfies it (its
 * `view`, `update` and `watch`); tests use an in-memory one. Objects are @shoal/proto's.
 */
export interface OrchestratorStore {
  /** One consistent snapshot of the nodes, services, tasks and the cluster object. */
  view(): ClusterView;
  /**
   * Commits the plan in one transaction (the store may split a large one into batches). Every
   * updated or removed object must still be at the `meta.version` it carries; otherwise nothing
   * is written and the outcome is a conflict (a value, not a throw), and the loop reconciles again.
   */
  update(plan: Plan): Promise<UpdateOutcome>;
  /** Change events from now on, ending when the signal fires. */
  watch(signal: AbortSignal): AsyncIterable<StoreChange>;
}

export type UpdateOutcome = { kind: "committed" } | { kind: "conflict"; objectIds: string[] };

export type StoreChange =
  | { kind: "object"; objectKind: "node" | "service" | "task" | "cluster"; id: string }
  /** Ends each committed transaction: the point at which a loop looks at what changed. */
  | { kind: "commit" };
