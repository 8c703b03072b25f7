import type { Clock, Logger, Random } from "@shoal/base";
import { type Service, TaskState, UpdateState } from "@shoal/proto";
import type { Store } from "@shoal/store";
import { reconcileAllocator } from "./allocator/allocator.js";
import { ORCHESTRATOR_BATCH, SCHEDULER_BATCH } from "./batcher.js";
import { orchestratorStep } from "./reconcile-cluster.js";
import { ReconcileLoop } from "./reconcile-loop.js";
import { planScheduling } from "./scheduling-step.js";
import { orchestratorStoreOf } from "./store-adapter.js";
import { updaterStep } from "./update/updater-step.js";

export interface LeaderLoopsOptions {
  store: Store;
  clock: Clock;
  random: Random;
  logger: Logger;
}

/** A loop the manager runs while it leads (structurally the manager's LeaderComponent). */
export interface LeaderLoop {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

/**
 * The leader-only loops over the store: the orchestrators, the rolling updater and the allocator
 * (incremental: each pass reads only the services and nodes changed since the last, commits
 * coalesced by ORCHESTRATOR_BATCH), and the scheduler (the whole picture, batched as swarmkit's,
 * and only while a task is PENDING). Each term gets fresh loops: they hold nothing a new leader
 * would lack.
 */
export function leaderLoops(o: LeaderLoopsOptions): LeaderLoop[] {
  const store = orchestratorStoreOf(o.store);
  const loop = (name: string, make: () => ReconcileLoop): LeaderLoop => ({
    name,
    run: (signal) => make().run(signal),
  });
  const common = { store, clock: o.clock, logger: o.logger };
  const incremental = { ...common, batch: ORCHESTRATOR_BATCH };
  const pending = String(TaskState.PENDING);
  // A task change matters to the updater only while a roll is in progress (it starts one on a
  // service change, which always counts): not a pass over every service a node loss touched.
  const isRolling = (s: Service) =>
    s.updateStatus?.state === UpdateState.UPDATING || s.updateStatus?.state === UpdateState.ROLLBACK_STARTED;
  const anyPending = () => o.store.view((tx) => tx.tasks.find("taskState", pending).length > 0);
  return [
    loop(
      "orchestrator",
      () =>
        new ReconcileLoop({
          ...incremental,
          incremental: { allServices: false, progress: false },
          skipOwnWrites: true,
          name: "orchestrator",
          step: orchestratorStep,
          random: o.random.split(),
        }),
    ),
    loop(
      "updater",
      () =>
        new ReconcileLoop({
          ...incremental,
          incremental: {
            allServices: false,
            progress: isRolling,
            gateTaskChanges: true,
            nodeServices: isRolling,
          },
          name: "updater",
          step: updaterStep,
          random: o.random.split(),
        }),
    ),
    loop(
      "allocator",
      () =>
        new ReconcileLoop({
          ...incremental,
          // A node's change is its own (subnet, ingress address): not a pass over its services.
          incremental: { allServices: true, progress: false, nodeServices: () => false },
          name: "allocator",
          step: reconcileAllocator,
          random: o.random.split(),
        }),
    ),
    loop(
      "scheduler",
      () =>
        new ReconcileLoop({
          ...common,
          name: "scheduler",
          step: planScheduling,
          random: o.random.split(),
          batch: SCHEDULER_BATCH,
          wanted: anyPending,
        }),
    ),
  ];
}
