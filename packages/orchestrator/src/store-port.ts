import type { Service } from "@shoal/proto";
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
  /**
   * A snapshot of only what `scope` names (see ViewScope). Optional: a loop over a store without
   * it reads the whole `view()` on every pass.
   */
  scopedView?(scope: ViewScope): ClusterView;
  /** Change events from now on, ending when the signal fires. */
  watch(signal: AbortSignal): AsyncIterable<StoreChange>;
}

/**
 * What an incremental pass reads: every node and the cluster object, the services named (all of
 * them with `allServices`) and, for each service it holds, all of its tasks — so a reconciler
 * sees each service it decides about whole. A named node adds the services with tasks on it, every
 * global service (the node may gain or lose one) and the node's tasks whatever their service.
 */
export interface ViewScope {
  serviceIds: ReadonlySet<string>;
  nodeIds: ReadonlySet<string>;
  /** Every service object, but tasks only as above (the allocator's ports need all services). */
  allServices: boolean;
  /**
   * Services whose tasks only progressed (see StoreChange.progressOnly): each is held as if named
   * when `matters` says so for its current object (the updater: a roll in progress).
   */
  progressed?: { serviceIds: ReadonlySet<string>; matters: (service: Service) => boolean } | undefined;
  /**
   * Which of the services a named node adds (with their tasks) are held; default all. The
   * updater needs them only while they roll, the allocator not at all (a node's own change is
   * in `nodes`, which always holds every node).
   */
  nodeServices?: ((service: Service) => boolean) | undefined;
}

export type UpdateOutcome = { kind: "committed" } | { kind: "conflict"; objectIds: string[] };

export type StoreChange =
  | {
      kind: "object";
      objectKind: "node" | "service" | "task" | "cluster";
      id: string;
      /** A task's service (without it a loop cannot tell which service changed: a full pass). */
      serviceId?: string;
      /**
       * A task only moved forward towards running — same desired state, not ended, and assigned
       * at most for the first time. The orchestrators and the allocator decide nothing on it.
       */
      progressOnly?: boolean;
      /**
       * The version the object had before this change (`meta.version` of the old object); -1 for
       * a create. With optimistic concurrency only one write can follow a given version, so a
       * loop recognises its own writes by it.
       */
      oldVersion?: number;
    }
  /** Ends each committed transaction: the point at which a loop looks at what changed. */
  | {
      kind: "commit";
      /** Events may have been missed (a watch that fell behind): the next pass reads everything. */
      resync?: boolean;
    };
