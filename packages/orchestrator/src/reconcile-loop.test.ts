import { ManualClock, seededRandom, silentLogger } from "@shoal/base";
import { NodeState, RestartCondition, type Task, TaskState } from "@shoal/proto";
import { afterEach, describe, expect, it } from "vitest";
import { node, service } from "../test/fixtures.js";
import { MemoryStore } from "../test/memory-store.js";
import { reconcileAllocator } from "./allocator/allocator.js";
import { Batcher, MIN_BATCH_WINDOW_MS, SCHEDULER_BATCH } from "./batcher.js";
import { orchestratorStep } from "./reconcile-cluster.js";
import { ReconcileLoop, type ReconcileStep } from "./reconcile-loop.js";
import { planScheduling } from "./scheduling-step.js";

const controllers: AbortController[] = [];
afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

function startLeader(store: MemoryStore, clock: ManualClock, seed = 1) {
  const controller = new AbortController();
  controllers.push(controller);
  let ids = 0;
  const common = {
    store,
    clock,
    random: seededRandom(seed),
    logger: silentLogger(),
    newTaskId: () => `t${seed}-${++ids}`,
  };
  const loops = [
    new ReconcileLoop({ ...common, name: "orchestrator", step: orchestratorStep }),
    new ReconcileLoop({ ...common, name: "allocator", step: reconcileAllocator }),
    new ReconcileLoop({ ...common, name: "scheduler", step: planScheduling, batch: SCHEDULER_BATCH }),
  ];
  const running = loops.map((l) => l.run(controller.signal));
  return { controller, running, loops };
}

/** The agent's side, done by hand: every ASSIGNED task on a ready node reports RUNNING. */
function agentsRun(store: MemoryStore, clock: ManualClock): void {
  for (const t of store.tasks.values()) {
    const state = t.status?.state ?? TaskState.NEW;
    if (state >= TaskState.ASSIGNED && state < TaskState.RUNNING && t.desiredState === TaskState.RUNNING) {
      store.put("task", {
        ...t,
        status: { timestampMs: clock.now(), state: TaskState.RUNNING, message: "started", err: "" },
      } as Task);
    }
  }
}

const running = (store: MemoryStore) =>
  [...store.tasks.values()].filter(
    (t) => t.status?.state === TaskState.RUNNING && t.desiredState === TaskState.RUNNING,
  );

describe("Batcher", () => {
  it("fires at the next tick on a poke after quiet, then 50 ms after the last poke", () => {
    const clock = new ManualClock();
    let fired = 0;
    const b: Batcher = new Batcher(clock, SCHEDULER_BATCH, () => {
      fired++;
      b.worked();
    });
    b.poke();
    b.poke();
    clock.advance(0);
    expect(fired).toBe(1);
    clock.advance(10);
    b.poke();
    clock.advance(40);
    b.poke();
    clock.advance(40);
    expect(fired).toBe(1);
    clock.advance(10);
    expect(fired).toBe(2);
    clock.advance(50);
    b.poke();
    clock.advance(0);
    expect(fired).toBe(3);
  });

  it("fires at most 1 s after the first poke of a busy batch", () => {
    const clock = new ManualClock();
    let fired = 0;
    const b: Batcher = new Batcher(clock, SCHEDULER_BATCH, () => {
      fired++;
      b.worked();
    });
    b.poke();
    clock.advance(0);
    for (let i = 0; i < 30; i++) {
      b.poke();
      clock.advance(40);
    }
    expect(fired).toBe(2);
  });

  it("a fire that did no work holds nothing back: the next poke fires at the next tick", () => {
    const clock = new ManualClock();
    const fires: number[] = [];
    let busy = false;
    const b: Batcher = new Batcher(clock, SCHEDULER_BATCH, () => {
      fires.push(clock.now());
      if (busy) b.worked();
    });
    b.poke();
    clock.advance(0);
    clock.advance(10);
    b.poke(); // 10 ms after a fire of nothing: at once, not 50 ms later
    clock.advance(0);
    expect(fires).toEqual([0, 10]);
    busy = true;
    clock.advance(10);
    b.poke();
    clock.advance(0);
    clock.advance(10);
    b.poke(); // 10 ms after a fire that worked: batched
    clock.advance(0);
    expect(fires).toEqual([0, 10, 20]);
    clock.advance(50);
    expect(fires).toEqual([0, 10, 20, 80]);
  });
});

describe("Batcher windows from the cost of the last working fire", () => {
  it("batches for twice the last fire's time (at most debounceMs, at least the minimum) from the batch's first poke", () => {
    const clock = new ManualClock();
    const fires: number[] = [];
    let tookMs = 3;
    const b: Batcher = new Batcher(clock, SCHEDULER_BATCH, () => {
      fires.push(clock.now());
      b.worked(tookMs);
    });
    b.poke();
    clock.advance(0);
    clock.advance(4);
    b.poke(); // 4 ms after a fire that took 3 ms: within its 6 ms window, batched
    clock.advance(0);
    expect(fires).toEqual([0]);
    clock.advance(6);
    expect(fires).toEqual([0, 10]);
    tookMs = 500; // an expensive pass: its window is debounceMs again
    clock.advance(7);
    b.poke(); // 7 ms after the fire at 10: past its window, at the next tick
    clock.advance(0);
    expect(fires).toEqual([0, 10, 17]);
    clock.advance(10);
    b.poke(); // batched for debounceMs from this first poke of the batch
    clock.advance(33);
    b.poke(); // a later poke does not push the batch out
    clock.advance(16);
    expect(fires).toEqual([0, 10, 17]);
    tookMs = 0;
    clock.advance(1);
    expect(fires).toEqual([0, 10, 17, 77]);
    clock.advance(1);
    b.poke(); // a free pass still batches what comes within the minimum window
    clock.advance(0);
    expect(fires.length).toBe(4);
    clock.advance(MIN_BATCH_WINDOW_MS);
    expect(fires).toEqual([0, 10, 17, 77, 78 + MIN_BATCH_WINDOW_MS]);
  });
});

describe("ReconcileLoop", () => {
  it("loops converge a service onto nodes, and a lone change after quiet is scheduled at once", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryStore(clock);
    store.put("node", node("n1"));
    store.put("node", node("n2"));
    store.put("service", service("web", { mode: { $case: "replicated", value: { replicas: 3 } } }));
    startLeader(store, clock);
    await clock.advanceAsync(SCHEDULER_BATCH.debounceMs);
    agentsRun(store, clock);
    await clock.advanceAsync(100);
    expect(
      running(store)
        .map((t) => t.slot)
        .sort(),
    ).toEqual([1, 2, 3]);
    const web = store.services.get("web");
    if (web?.spec === undefined) throw new Error("no service");
    store.put("service", {
      ...web,
      spec: { ...web.spec, mode: { $case: "replicated", value: { replicas: 4 } } },
    });
    await clock.advanceAsync(0);
    const fourth = () => [...store.tasks.values()].find((t) => t.slot === 4);
    // A lone change after quiet is not held for a batch.
    expect(fourth()?.status?.state).toBe(TaskState.ASSIGNED);
    agentsRun(store, clock);
    await clock.advanceAsync(100);
    expect(
      running(store)
        .map((t) => t.slot)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    expect(new Set(running(store).map((t) => t.address)).size).toBe(4);
  });

  it("a restart delay is a timer on the injected clock", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryStore(clock);
    store.put("node", node("n1"));
    store.put(
      "service",
      service("web", {
        mode: { $case: "replicated", value: { replicas: 1 } },
        taskTemplate: { restartPolicy: { condition: RestartCondition.ANY, delayMs: 2_000 } },
      }),
    );
    startLeader(store, clock);
    await clock.advanceAsync(100);
    agentsRun(store, clock);
    await clock.advanceAsync(100);
    const [first] = running(store);
    if (first === undefined) throw new Error("no running task");
    store.put("task", {
      ...first,
      status: { timestampMs: clock.now(), state: TaskState.FAILED, message: "exit 1", err: "exit 1" },
    } as Task);
    await clock.advanceAsync(100);
    const replacement = [...store.tasks.values()].find((t) => t.id !== first.id);
    expect(replacement?.desiredState).toBe(TaskState.READY);
    await clock.advanceAsync(2_000);
    expect(store.tasks.get(replacement?.id ?? "")?.desiredState).toBe(TaskState.RUNNING);
  });

  it("a new leader resumes from the store alone: no task is duplicated, a lost node is replaced", async () => {
    const clock = new ManualClock(1_000);
    const store = new MemoryStore(clock);
    store.put("node", node("n1"));
    store.put("node", node("n2"));
    store.put("service", service("web", { mode: { $case: "replicated", value: { replicas: 2 } } }));
    const first = startLeader(store, clock, 1);
    await clock.advanceAsync(100);
    agentsRun(store, clock);
    await clock.advanceAsync(100);
    first.controller.abort();
    await Promise.all(first.running);
    const n1 = store.nodes.get("n1");
    if (n1?.status === undefined) throw new Error("no node");
    store.put("node", { ...n1, status: { ...n1.status, state: NodeState.DOWN } });
    startLeader(store, clock, 2);
    await clock.advanceAsync(100);
    agentsRun(store, clock);
    await clock.advanceAsync(100);
    const live = running(store);
    expect(live).toHaveLength(2);
    expect(live.every((t) => t.nodeId === "n2")).toBe(true);
    expect(new Set(live.map((t) => t.slot)).size).toBe(2);
  });

  it("stop() ends run() and a failing step rejects it", async () => {
    const clock = new ManualClock();
    const store = new MemoryStore(clock);
    const loop = new ReconcileLoop({
      name: "x",
      store,
      clock,
      random: seededRandom(1),
      logger: silentLogger(),
      step: orchestratorStep,
    });
    const run = loop.run(new AbortController().signal);
    loop.stop();
    await expect(run).resolves.toBeUndefined();
    const broken: ReconcileStep = () => {
      throw new Error("invariant broken");
    };
    const failing = new ReconcileLoop({
      name: "y",
      store,
      clock,
      random: seededRandom(1),
      logger: silentLogger(),
      step: broken,
    });
    await expect(failing.run(new AbortController().signal)).rejects.toThrow("invariant broken");
  });
});
