import { ManualClock, seededRandom, silentLogger } from "@shoal/base";
import { type Task, TaskSpec, TaskState, UpdateState } from "@shoal/proto";
import { afterEach, describe, expect, it } from "vitest";
import { node, service } from "../../test/fixtures.js";
import { MemoryStore } from "../../test/memory-store.js";
import { reconcileAllocator } from "../allocator/allocator.js";
import { orchestratorStep } from "../reconcile-cluster.js";
import { ReconcileLoop } from "../reconcile-loop.js";
import { planScheduling } from "../scheduling-step.js";
import { updaterStep } from "./updater-step.js";

const controllers: AbortController[] = [];
afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

/** The leader's loops as leaderLoops() runs them, the updater included; fresh per term. */
function startLeader(store: MemoryStore, clock: ManualClock, term: number) {
  const controller = new AbortController();
  controllers.push(controller);
  let ids = 0;
  const common = {
    store,
    clock,
    random: seededRandom(term),
    logger: silentLogger(),
    newTaskId: () => `t${term}-${++ids}`,
  };
  const loops = [
    new ReconcileLoop({ ...common, name: "orchestrator", step: orchestratorStep }),
    new ReconcileLoop({ ...common, name: "updater", step: updaterStep }),
    new ReconcileLoop({ ...common, name: "allocator", step: reconcileAllocator }),
    new ReconcileLoop({ ...common, name: "scheduler", step: planScheduling }),
  ];
  return { controller, running: loops.map((l) => l.run(controller.signal)) };
}

/** The agents, by hand: tasks move to their desired state (RUNNING or SHUTDOWN) at once. */
function agentsMove(store: MemoryStore, clock: ManualClock): void {
  for (const t of [...store.tasks.values()]) {
    const state = t.status?.state ?? TaskState.NEW;
    if (state < TaskState.ASSIGNED || state > TaskState.RUNNING) continue;
    const next =
      t.desiredState > TaskState.RUNNING
        ? TaskState.SHUTDOWN
        : t.desiredState === TaskState.RUNNING && state < TaskState.RUNNING
          ? TaskState.RUNNING
          : undefined;
    if (next === undefined) continue;
    store.put("task", {
      ...t,
      status: { timestampMs: clock.now(), state: next, message: "agent", err: "" },
    } as Task);
  }
}

async function steps(store: MemoryStore, clock: ManualClock, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    agentsMove(store, clock);
    await clock.advanceAsync(250);
  }
}

const image = (t: Task) => t.spec?.container?.image;

describe("the updater loop", () => {
  it("rolls a service one slot at a time and resumes from the store after a leader change", async () => {
    const clock = new ManualClock(1_000_000);
    const store = new MemoryStore(clock);
    store.put("node", node("n1"));
    store.put("node", node("n2"));
    const v1 = TaskSpec.fromPartial({ container: { image: "app:1" } });
    store.put(
      "service",
      service("s1", {
        mode: { $case: "replicated", value: { replicas: 4 } },
        taskTemplate: v1,
        updateConfig: { parallelism: 1, monitorMs: 1_000 },
      }),
    );
    let leader = startLeader(store, clock, 1);
    await steps(store, clock, 8);
    const live = () => [...store.tasks.values()].filter((t) => t.desiredState === TaskState.RUNNING);
    expect(live().map(image)).toEqual(Array(4).fill("app:1"));

    const s = store.services.get("s1");
    if (s?.spec === undefined) throw new Error("service s1 missing");
    store.put("service", {
      ...s,
      previousSpec: s.spec,
      spec: { ...s.spec, taskTemplate: TaskSpec.fromPartial({ container: { image: "app:2" } }) },
    });
    await steps(store, clock, 3);
    const midway = live().filter((t) => image(t) === "app:2").length;
    expect(midway).toBeGreaterThan(0);
    expect(midway).toBeLessThan(4);
    expect(store.services.get("s1")?.updateStatus?.state).toBe(UpdateState.UPDATING);

    // A new leader has only the store: it finishes the update from there.
    leader.controller.abort();
    await Promise.all(leader.running);
    leader = startLeader(store, clock, 2);
    await steps(store, clock, 40);
    expect(store.services.get("s1")?.updateStatus).toMatchObject({
      state: UpdateState.COMPLETED,
      message: "update completed",
    });
    expect(live().map(image)).toEqual(Array(4).fill("app:2"));
    expect(live().every((t) => t.status?.state === TaskState.RUNNING)).toBe(true);
  });
});
