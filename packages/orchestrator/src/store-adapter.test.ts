import { ManualClock, seededRandom, silentLogger } from "@shoal/base";
import { ContainerSpec, Network, NodeState, TaskSpec, TaskState } from "@shoal/proto";
import { Store } from "@shoal/store";
import { afterEach, describe, expect, it } from "vitest";
import { node, service, task } from "../test/fixtures.js";
import { reconcileAllocator } from "./allocator/allocator.js";
import { SCHEDULER_BATCH } from "./batcher.js";
import { leaderLoops } from "./leader-loops.js";
import { orchestratorStep } from "./reconcile-cluster.js";
import { ReconcileLoop } from "./reconcile-loop.js";
import { planScheduling } from "./scheduling-step.js";
import { orchestratorStoreOf } from "./store-adapter.js";

const controllers: AbortController[] = [];
afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

function leader(store: Store, clock: ManualClock, seed: number): Promise<void>[] {
  const controller = new AbortController();
  controllers.push(controller);
  const common = {
    store: orchestratorStoreOf(store),
    clock,
    random: seededRandom(seed),
    logger: silentLogger(),
  };
  return [
    new ReconcileLoop({ ...common, name: "orchestrator", step: orchestratorStep }).run(controller.signal),
    new ReconcileLoop({ ...common, name: "allocator", step: reconcileAllocator }).run(controller.signal),
    new ReconcileLoop({ ...common, name: "scheduler", step: planScheduling, batch: SCHEDULER_BATCH }).run(
      controller.signal,
    ),
  ];
}

/** The agents' side: tasks assigned to ready nodes report RUNNING, as the dispatcher would write. */
async function agentsRun(store: Store): Promise<void> {
  await store.update((tx) => {
    for (const t of tx.tasks.list()) {
      const node = tx.nodes.get(t.nodeId);
      const state = t.status?.state ?? TaskState.NEW;
      if (node?.status?.state !== NodeState.READY || state < TaskState.ASSIGNED || state >= TaskState.RUNNING)
        continue;
      if (t.desiredState !== TaskState.RUNNING) continue;
      tx.tasks.update({
        ...t,
        status: { timestampMs: 0, state: TaskState.RUNNING, message: "started", err: "" },
      });
    }
  });
}

/** Moves time in small steps and lets the store's and the loops' promise chains run in between. */
async function settle(clock: ManualClock): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await clock.advanceAsync(10);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const runningSlots = (store: Store) =>
  store
    .view((tx) => tx.tasks.list())
    .filter((t) => t.status?.state === TaskState.RUNNING && t.desiredState === TaskState.RUNNING)
    .map((t) => `${t.slot}@${t.nodeId}`)
    .sort();

/** The manager's own set of loops (incremental passes, coalesced commits) for one term. */
function leaderTerm(store: Store, clock: ManualClock, seed: number): Promise<void>[] {
  const controller = new AbortController();
  controllers.push(controller);
  return leaderLoops({ store, clock, random: seededRandom(seed), logger: silentLogger() }).map((l) =>
    l.run(controller.signal),
  );
}

/** The agents' side of a stop: tasks told to shut down report SHUTDOWN. */
async function agentsStop(store: Store): Promise<void> {
  await store.update((tx) => {
    for (const t of tx.tasks.list()) {
      const state = t.status?.state ?? TaskState.NEW;
      if (t.desiredState < TaskState.SHUTDOWN || state > TaskState.RUNNING) continue;
      tx.tasks.update({
        ...t,
        status: { timestampMs: 0, state: TaskState.SHUTDOWN, message: "stopped", err: "" },
      });
    }
  });
}

async function agentsRound(store: Store, clock: ManualClock): Promise<void> {
  for (let i = 0; i < 6; i++) {
    await agentsRun(store);
    await agentsStop(store);
    await settle(clock);
  }
}

describe("orchestratorStoreOf", () => {
  it("a scoped view holds the networks, as the full view does (the allocator resolves them)", async () => {
    const clock = new ManualClock(1_000);
    const store = new Store({ clock, random: seededRandom(3), logger: silentLogger() });
    await store.update((tx) => {
      tx.networks.create(Network.fromPartial({ id: "net1", spec: { name: "app_default" } }));
      tx.services.create(service("web", { mode: { $case: "replicated", value: { replicas: 1 } } }));
    });
    const port = orchestratorStoreOf(store);
    const scoped = port.scopedView?.({
      serviceIds: new Set(["web"]),
      nodeIds: new Set(),
      allServices: false,
    });
    expect([...(scoped?.networks?.keys() ?? [])]).toEqual(["net1"]);
    expect([...(port.view().networks?.keys() ?? [])]).toEqual(["net1"]);
  });

  it("a first assignment is progress on a ready node, not on a down one (the orchestrator replaces it)", async () => {
    const clock = new ManualClock(1_000);
    const store = new Store({ clock, random: seededRandom(3), logger: silentLogger() });
    await store.update((tx) => {
      tx.nodes.create(node("up"));
      tx.nodes.create(node("gone", { state: NodeState.DOWN }));
      tx.services.create(service("s1"));
      for (const id of ["t1", "t2"]) tx.tasks.create(task(id, { state: TaskState.PENDING }));
    });
    const controller = new AbortController();
    controllers.push(controller);
    const changes = orchestratorStoreOf(store).watch(controller.signal)[Symbol.asyncIterator]();
    const first = changes.next(); // subscribes
    await store.update((tx) => {
      for (const [id, nodeId] of [
        ["t1", "up"],
        ["t2", "gone"],
      ] as const) {
        const t = tx.tasks.get(id)!;
        tx.tasks.update({ ...t, nodeId, status: { ...t.status!, state: TaskState.ASSIGNED } });
      }
    });
    const seen = [(await first).value, (await changes.next()).value];
    expect(seen.map((c) => [c.id, c.progressOnly])).toEqual([
      ["t1", true],
      ["t2", false],
    ]);
  });
});

describe("the loops over @shoal/store", () => {
  it("pass incrementally while they run: scale up, a node down, a rolling update", async () => {
    const clock = new ManualClock(1_000);
    const store = new Store({ clock, random: seededRandom(3), logger: silentLogger() });
    await store.update((tx) => {
      for (const id of ["n1", "n2", "n3"]) tx.nodes.create(node(id));
      tx.services.create(service("web", { mode: { $case: "replicated", value: { replicas: 3 } } }));
      tx.services.create(service("db", { mode: { $case: "replicated", value: { replicas: 2 } } }));
    });
    leaderTerm(store, clock, 1);
    await settle(clock);
    await agentsRound(store, clock);
    expect(runningSlots(store)).toHaveLength(5);

    // Scale one service: only it is read again.
    await store.update((tx) => {
      const web = tx.services.get("web");
      if (web?.spec !== undefined)
        tx.services.update({
          ...web,
          spec: { ...web.spec, mode: { $case: "replicated", value: { replicas: 6 } } },
        });
    });
    await settle(clock);
    await agentsRound(store, clock);
    expect(runningSlots(store)).toHaveLength(8);

    // A node goes down while the loops run: its tasks run elsewhere.
    await store.update((tx) => {
      const n1 = tx.nodes.get("n1");
      if (n1?.status !== undefined)
        tx.nodes.update({ ...n1, status: { ...n1.status, state: NodeState.DOWN } });
    });
    await settle(clock);
    await agentsRound(store, clock);
    const afterDown = runningSlots(store);
    expect(afterDown).toHaveLength(8);
    expect(afterDown.filter((s) => s.endsWith("@n1"))).toEqual([]);

    // A new image: the updater replaces every task of the service (it follows them coming up).
    await store.update((tx) => {
      const db = tx.services.get("db");
      const spec = db?.spec;
      if (db === undefined || spec === undefined) return;
      tx.services.update({
        ...db,
        spec: {
          ...spec,
          taskTemplate: TaskSpec.fromPartial({
            ...spec.taskTemplate,
            container: ContainerSpec.fromPartial({ ...spec.taskTemplate?.container, image: "db:2" }),
          }),
        },
      });
    });
    for (let i = 0; i < 8; i++) {
      await settle(clock);
      await agentsRound(store, clock);
    }
    const db = store.view((tx) => tx.tasks.find("serviceId", "db"));
    const live = db.filter(
      (t) => t.desiredState === TaskState.RUNNING && t.status?.state === TaskState.RUNNING,
    );
    expect(live.map((t) => t.spec?.container?.image)).toEqual(["db:2", "db:2"]);
  });

  it("converge a replicated service, and a new leader replaces a lost node's tasks from the store alone", async () => {
    const clock = new ManualClock(1_000);
    const store = new Store({ clock, random: seededRandom(9), logger: silentLogger() });
    await store.update((tx) => {
      tx.nodes.create(node("n1"));
      tx.nodes.create(node("n2"));
      tx.services.create(service("web", { mode: { $case: "replicated", value: { replicas: 4 } } }));
    });
    const first = leader(store, clock, 1);
    await settle(clock);
    await agentsRun(store);
    await settle(clock);
    expect(runningSlots(store)).toHaveLength(4);
    controllers[0]?.abort();
    await Promise.all(first);

    await store.update((tx) => {
      const n1 = tx.nodes.get("n1");
      if (n1?.status !== undefined)
        tx.nodes.update({ ...n1, status: { ...n1.status, state: NodeState.DOWN } });
    });
    leader(store, clock, 2);
    await settle(clock);
    await agentsRun(store);
    await settle(clock);
    const slots = runningSlots(store);
    expect(slots).toEqual(["1@n2", "2@n2", "3@n2", "4@n2"]);
  });
});
