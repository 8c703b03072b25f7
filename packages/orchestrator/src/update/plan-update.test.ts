import {
  type Service,
  type Task,
  TaskSpec,
  TaskState,
  UpdateFailureAction,
  UpdateOrder,
  UpdateState,
} from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { ctx, NOW, node, service, stateName, task } from "../../test/fixtures.js";
import { describePlan, type Plan } from "../plan.js";
import { reconcileReplicated } from "../replicated.js";
import { planServiceUpdate } from "./plan-update.js";

const OLD = TaskSpec.fromPartial({ container: { image: "app:1" } });
const NEW = TaskSpec.fromPartial({ container: { image: "app:2" } });
const HEALTHY_NEW = TaskSpec.fromPartial({
  container: { image: "app:2", healthcheck: { test: ["CMD", "true"] } },
});
const isOld = (spec: Task["spec"]) => spec?.container?.image === "app:1";
const STARTED = NOW - 60_000;
const nodes = new Map(["n1", "n2", "n3"].map((id) => [id, node(id)]));

const ORDERS = [
  ["stop-first", UpdateOrder.STOP_FIRST],
  ["start-first", UpdateOrder.START_FIRST],
] as const;
const ACTIONS = [
  ["pause", UpdateFailureAction.PAUSE],
  ["continue", UpdateFailureAction.CONTINUE],
  ["rollback", UpdateFailureAction.ROLLBACK],
] as const;

interface Update {
  order?: UpdateOrder;
  parallelism?: number;
  delayMs?: number;
  failureAction?: UpdateFailureAction;
  monitorMs?: number;
  maxFailureRatio?: number;
}

function svc(
  o: {
    replicas?: number;
    template?: Task["spec"];
    update?: Update;
    rollback?: Update;
    state?: UpdateState;
    startedAtMs?: number;
    previous?: boolean;
  } = {},
): Service {
  return service(
    "s1",
    {
      mode: { $case: "replicated", value: { replicas: o.replicas ?? 4 } },
      taskTemplate: o.template ?? NEW,
      updateConfig: o.update,
      rollbackConfig: o.rollback,
    },
    {
      previousSpec:
        o.previous === false ? undefined : ({ name: "s1", labels: {}, taskTemplate: OLD } as never),
      updateStatus:
        o.state === undefined
          ? undefined
          : { state: o.state, startedAtMs: o.startedAtMs ?? STARTED, completedAtMs: 0, message: "" },
    },
  );
}

/** An old-spec task running in `slot` since before the update. */
function old(slot: number, extra: Partial<Task> = {}): Task {
  return { ...task(`old${slot}`, { slot, node: `n${1 + (slot % 3)}`, spec: OLD, createdAtMs: 1 }), ...extra };
}

/** A task of this update in `slot`: `state` observed at `atMs`, first seen up at `upAtMs`. */
function fresh(
  slot: number,
  o: {
    id?: string;
    state?: TaskState;
    desired?: TaskState;
    atMs?: number;
    upAtMs?: number;
    health?: string;
    err?: string;
    spec?: Task["spec"];
  } = {},
): Task {
  const t = task(o.id ?? `new${slot}`, {
    slot,
    node: `n${1 + (slot % 3)}`,
    spec: o.spec ?? NEW,
    createdAtMs: STARTED + slot,
    state: o.state ?? TaskState.RUNNING,
    desired: o.desired ?? TaskState.RUNNING,
  });
  const out: Task = {
    ...t,
    status: {
      timestampMs: o.atMs ?? NOW - 30_000,
      state: o.state ?? TaskState.RUNNING,
      message: "",
      err: o.err ?? "",
      containerStatus: {
        containerId: "c",
        pid: 0,
        exitCode: o.state === TaskState.FAILED ? 1 : 0,
        health: o.health ?? "",
      },
    },
  };
  if (o.upAtMs !== undefined) out.upAtMs = o.upAtMs;
  return out;
}

/** "create slot 2 RUNNING", "old1 → SHUTDOWN", "new1 upAt", "service UPDATING: message". */
function summary(plan: Plan): string[] {
  const out: string[] = [];
  for (const { object: t } of plan.createTasks)
    out.push(`create slot ${t.slot} ${stateName(t.desiredState)}${isOld(t.spec) ? " (old spec)" : ""}`);
  for (const { object: t } of plan.updateTasks) {
    if (t.upAtMs !== undefined && t.desiredState === TaskState.RUNNING) out.push(`${t.id} upAt`);
    else out.push(`${t.id} → ${stateName(t.desiredState)}`);
  }
  for (const { object: s } of plan.updateServices) {
    const state = Object.entries(UpdateState).find(([, v]) => v === s.updateStatus?.state)?.[0];
    out.push(`service ${state}${isOld(s.spec?.taskTemplate) ? " (spec rolled back)" : ""}`);
  }
  return out.sort();
}

function run(s: Service, tasks: Task[], nowMs = NOW): Plan {
  let n = 0;
  return planServiceUpdate({ service: s, tasks, nodes }, { nowMs, newTaskId: () => `c${++n}` });
}

function check(plan: Plan, want: string[]): void {
  expect(summary(plan), describePlan(plan)).toEqual([...want].sort());
}

const four = () => [old(1), old(2), old(3), old(4)];

describe("updater: the first batch, every order × parallelism", () => {
  for (const [orderName, order] of ORDERS) {
    for (const parallelism of [1, 2, 0]) {
      const n = parallelism === 0 ? 4 : parallelism;
      it(`${orderName}, parallelism ${parallelism}: replaces ${parallelism === 0 ? "every slot at once" : `${n} slot(s), lowest first`}${order === UpdateOrder.STOP_FIRST ? ", stopping the old task first" : ", leaving the old task running"}`, () => {
        const s = svc({ state: UpdateState.UPDATING, update: { order, parallelism } });
        const want: string[] = [];
        for (let slot = 1; slot <= n; slot++) {
          if (order === UpdateOrder.STOP_FIRST)
            want.push(`create slot ${slot} READY`, `old${slot} → SHUTDOWN`);
          else want.push(`create slot ${slot} RUNNING`);
        }
        check(run(s, four()), want);
      });
    }
  }
});

describe("updater: failures, every order × failure action × ratio × monitor", () => {
  for (const [orderName, order] of ORDERS) {
    for (const [actionName, failureAction] of ACTIONS) {
      for (const maxFailureRatio of [0, 0.5]) {
        for (const within of [true, false]) {
          const counted = within && maxFailureRatio === 0;
          const outcome = !counted
            ? "is not counted and the update goes on"
            : actionName === "pause"
              ? "pauses the update"
              : actionName === "continue"
                ? "is ignored (continue)"
                : "rolls back to the previous spec";
          const name = `${orderName}, ${actionName}, ratio ${maxFailureRatio}: a task failing ${within ? "within" : "after"} its monitor ${outcome}`;
          it(name, () => {
            const s = svc({
              state: UpdateState.UPDATING,
              update: { order, parallelism: 1, failureAction, maxFailureRatio, monitorMs: 10_000 },
            });
            // Slot 1 updated: its new task came up and then failed (1 of 4 slots = 0.25).
            const failedAt = within ? NOW - 25_000 : NOW - 5_000;
            const tasks = [
              fresh(1, { state: TaskState.FAILED, upAtMs: NOW - 30_000, atMs: failedAt, err: "boom" }),
              fresh(1, { id: "retry1", state: TaskState.RUNNING, upAtMs: NOW - 20_000, atMs: NOW - 20_000 }),
              old(2),
              old(3),
              old(4),
            ];
            // The failed task is not live: its replacement holds the slot.
            tasks[0] = { ...(tasks[0] as Task), desiredState: TaskState.SHUTDOWN };
            const goesOn =
              order === UpdateOrder.STOP_FIRST
                ? ["create slot 2 READY", "old2 → SHUTDOWN"]
                : ["create slot 2 RUNNING"];
            const plan = run(s, tasks);
            if (!counted || actionName === "continue") check(plan, goesOn);
            else if (actionName === "pause") {
              check(plan, ["service PAUSED"]);
              expect(plan.updateServices[0]?.object.updateStatus?.message).toBe(
                "update paused due to failure or early termination of task new1 (failed (exit 1): boom)",
              );
            } else check(plan, ["service ROLLBACK_STARTED (spec rolled back)"]);
          });
        }
      }
    }
  }
});

interface Case {
  swarm: string;
  service: Service;
  tasks: Task[];
  want: string[];
  nowMs?: number;
  message?: string;
  timers?: number[];
}

const cases: Case[] = [
  {
    swarm: "a spec change starts an update: status UPDATING with its start time and the first batch",
    service: svc(),
    tasks: four(),
    want: ["service UPDATING", "create slot 1 READY", "old1 → SHUTDOWN"],
    message: "update in progress",
  },
  {
    swarm: "a scale change alone updates nothing",
    service: svc({ template: OLD }),
    tasks: four(),
    want: [],
  },
  {
    swarm: "a manual rollback (control API set ROLLBACK_STARTED) gets its start time and its first batch",
    service: svc({ state: UpdateState.ROLLBACK_STARTED, startedAtMs: 0 }),
    tasks: four(),
    want: ["service ROLLBACK_STARTED", "create slot 1 READY", "old1 → SHUTDOWN"],
  },
  {
    swarm: "parallelism 1 waits while the updated slot's task is not running yet",
    service: svc({ state: UpdateState.UPDATING }),
    tasks: [fresh(1, { state: TaskState.STARTING }), old(2), old(3), old(4)],
    want: [],
  },
  {
    swarm: "a slot counts as updated once its task runs: the next slot goes, and upAt is recorded",
    service: svc({ state: UpdateState.UPDATING }),
    tasks: [fresh(1), old(2), old(3), old(4)],
    want: ["new1 upAt", "create slot 2 READY", "old2 → SHUTDOWN"],
  },
  {
    swarm: "health gating: a task with a health check is not updated until HEALTHY",
    service: svc({ state: UpdateState.UPDATING, template: HEALTHY_NEW }),
    tasks: [fresh(1, { spec: HEALTHY_NEW, health: "starting", atMs: NOW - 1_000 }), old(2), old(3), old(4)],
    want: [],
    timers: [NOW - 1_000 + 5_000],
  },
  {
    swarm: "health gating: once HEALTHY the slot is done and the next one goes",
    service: svc({ state: UpdateState.UPDATING, template: HEALTHY_NEW }),
    tasks: [fresh(1, { spec: HEALTHY_NEW, health: "healthy" }), old(2), old(3), old(4)],
    want: ["new1 upAt", "create slot 2 READY", "old2 → SHUTDOWN"],
  },
  {
    swarm: "a task not healthy within the monitor counts as a failure (pause names it)",
    service: svc({ state: UpdateState.UPDATING, template: HEALTHY_NEW }),
    tasks: [fresh(1, { spec: HEALTHY_NEW, health: "starting", atMs: NOW - 6_000 }), old(2), old(3), old(4)],
    want: ["service PAUSED"],
    message:
      "update paused due to failure or early termination of task new1 (not healthy within the 5000 ms monitor)",
  },
  {
    swarm: "an unhealthy task counts as a failure at once",
    service: svc({ state: UpdateState.UPDATING, template: HEALTHY_NEW }),
    tasks: [fresh(1, { spec: HEALTHY_NEW, health: "unhealthy", atMs: NOW - 100 }), old(2), old(3), old(4)],
    want: ["service PAUSED"],
    message: "update paused due to failure or early termination of task new1 (unhealthy)",
  },
  {
    swarm: "start-first: the old task stops once the new one is up",
    service: svc({ state: UpdateState.UPDATING, update: { order: UpdateOrder.START_FIRST } }),
    tasks: [fresh(1), old(1), old(2), old(3), old(4)],
    want: ["new1 upAt", "old1 → SHUTDOWN", "create slot 2 RUNNING"],
  },
  {
    swarm: "start-first: the old task keeps running while the new one starts",
    service: svc({ state: UpdateState.UPDATING, update: { order: UpdateOrder.START_FIRST } }),
    tasks: [fresh(1, { state: TaskState.PREPARING }), old(1), old(2), old(3), old(4)],
    want: [],
  },
  {
    swarm: "delay: the next slot waits `delay` after the last one came up",
    service: svc({ state: UpdateState.UPDATING, update: { delayMs: 10_000 } }),
    tasks: [fresh(1, { upAtMs: NOW - 4_000 }), old(2), old(3), old(4)],
    want: [],
    timers: [NOW + 6_000],
  },
  {
    swarm: "delay: after it the next slot goes",
    service: svc({ state: UpdateState.UPDATING, update: { delayMs: 10_000 } }),
    tasks: [fresh(1, { upAtMs: NOW - 10_000 }), old(2), old(3), old(4)],
    want: ["create slot 2 READY", "old2 → SHUTDOWN"],
  },
  {
    swarm: "slots whose old task is not running are updated first (they cost no capacity)",
    service: svc({ state: UpdateState.UPDATING }),
    tasks: [
      old(1),
      old(2),
      old(3, { status: { ...old(3).status, state: TaskState.PENDING } } as Partial<Task>),
      old(4),
    ],
    want: ["create slot 3 RUNNING", "old3 → SHUTDOWN"],
  },
  {
    swarm: "the update completes one monitor window after the last slot came up",
    service: svc({ state: UpdateState.UPDATING }),
    tasks: [1, 2, 3, 4].map((s) => fresh(s, { upAtMs: NOW - 2_000 })),
    want: [],
    timers: [NOW + 3_000],
  },
  {
    swarm: "completed: every slot runs the target spec and the monitor window passed",
    service: svc({ state: UpdateState.UPDATING }),
    tasks: [1, 2, 3, 4].map((s) => fresh(s, { upAtMs: NOW - 5_000 })),
    want: ["service COMPLETED"],
    message: "update completed",
  },
  {
    swarm: "a rollback completes as ROLLBACK_COMPLETED",
    service: svc({ state: UpdateState.ROLLBACK_STARTED, template: OLD }),
    tasks: [1, 2, 3, 4].map((s) => fresh(s, { spec: OLD, upAtMs: NOW - 5_000 })),
    want: ["service ROLLBACK_COMPLETED (spec rolled back)"],
    message: "rollback completed",
  },
  {
    swarm: "a completed rollback keeps saying why it happened (docker/cli#373: the CLI must tell)",
    service: {
      ...svc({ state: UpdateState.ROLLBACK_STARTED, template: OLD }),
      updateStatus: {
        state: UpdateState.ROLLBACK_STARTED,
        startedAtMs: STARTED,
        completedAtMs: 0,
        message: "update rolled back due to failure or early termination of task new1 (unhealthy)",
      },
    },
    tasks: [1, 2, 3, 4].map((s) => fresh(s, { spec: OLD, upAtMs: NOW - 5_000 })),
    want: ["service ROLLBACK_COMPLETED (spec rolled back)"],
    message:
      "rollback completed: update rolled back due to failure or early termination of task new1 (unhealthy)",
  },
  {
    swarm: "a rollback uses the rollback config (parallelism 0 = all at once)",
    service: svc({ state: UpdateState.ROLLBACK_STARTED, template: OLD, rollback: { parallelism: 0 } }),
    tasks: [1, 2, 3].map((s) => fresh(s)),
    want: [
      "create slot 1 READY (old spec)",
      "create slot 2 READY (old spec)",
      "create slot 3 READY (old spec)",
      "new1 → SHUTDOWN",
      "new2 → SHUTDOWN",
      "new3 → SHUTDOWN",
    ],
  },
  {
    swarm: "never roll back a rollback: a failing rollback pauses",
    service: svc({
      state: UpdateState.ROLLBACK_STARTED,
      template: OLD,
      rollback: { failureAction: UpdateFailureAction.ROLLBACK },
    }),
    tasks: [fresh(1, { spec: OLD, state: TaskState.REJECTED, err: "no such image" }), fresh(2), fresh(3)],
    want: ["service ROLLBACK_PAUSED (spec rolled back)"],
    message: "rollback paused due to failure or early termination of task new1 (rejected: no such image)",
  },
  {
    swarm: "failure action rollback without a previous spec pauses, saying so",
    service: svc({
      state: UpdateState.UPDATING,
      previous: false,
      update: { failureAction: UpdateFailureAction.ROLLBACK },
    }),
    tasks: [fresh(1, { state: TaskState.FAILED }), old(2)],
    want: ["service PAUSED"],
    message:
      "update paused due to failure or early termination of task new1 (failed (exit 1)); no previous spec to roll back to",
  },
  {
    swarm: "a paused update starts nothing more",
    service: svc({ state: UpdateState.PAUSED }),
    tasks: [fresh(1, { state: TaskState.FAILED }), old(2), old(3), old(4)],
    want: [],
  },
  {
    swarm: "a new update supersedes one in progress from where it is (slots already at it stay)",
    service: svc({ state: UpdateState.UPDATING, template: HEALTHY_NEW, update: { parallelism: 0 } }),
    tasks: [fresh(1, { spec: HEALTHY_NEW, health: "healthy" }), fresh(2), old(3)],
    want: ["new1 upAt", "create slot 2 READY", "new2 → SHUTDOWN", "create slot 3 READY", "old3 → SHUTDOWN"],
  },
  {
    swarm: "a failure before the task was seen up counts (swarmkit: zero start time)",
    service: svc({ state: UpdateState.UPDATING, update: { maxFailureRatio: 0.2 } }),
    tasks: [fresh(1, { state: TaskState.COMPLETE, atMs: NOW - 50_000 }), old(2), old(3), old(4)],
    want: ["service PAUSED"],
    message: "update paused due to failure or early termination of task new1 (exited early)",
  },
  {
    swarm: "failures at or under the ratio do not trigger the action",
    service: svc({ state: UpdateState.UPDATING, update: { maxFailureRatio: 0.25 } }),
    tasks: [fresh(1, { state: TaskState.FAILED }), old(2), old(3), old(4)],
    want: ["create slot 2 READY", "old2 → SHUTDOWN"],
  },
  {
    swarm: "tasks of earlier updates (created before this one started) never count",
    service: svc({ state: UpdateState.UPDATING, startedAtMs: NOW - 1_000 }),
    tasks: [fresh(1, { state: TaskState.FAILED }), old(2), old(3), old(4)],
    want: ["create slot 2 READY", "old2 → SHUTDOWN"],
  },
];

describe("updater: Swarm behaviours", () => {
  for (const c of cases) {
    it(c.swarm, () => {
      const plan = run(c.service, c.tasks, c.nowMs);
      check(plan, c.want);
      if (c.message !== undefined)
        expect(plan.updateServices[0]?.object.updateStatus?.message).toBe(c.message);
      if (c.timers !== undefined) expect(plan.timers.map((t) => t.atMs)).toEqual(c.timers);
    });
  }
});

describe("updater: global services", () => {
  it("a global service rolls node by node, each new task on the old one's node", () => {
    const s = service(
      "s1",
      { mode: { $case: "global", value: {} }, taskTemplate: NEW },
      { updateStatus: { state: UpdateState.UPDATING, startedAtMs: STARTED, completedAtMs: 0, message: "" } },
    );
    const tasks = ["n1", "n2", "n3"].map((n) => ({
      ...task(`old-${n}`, { node: n, spec: OLD, createdAtMs: 1 }),
    }));
    const plan = run(s, tasks);
    expect(plan.createTasks.map((c) => [c.object.nodeId, c.object.slot, c.object.desiredState])).toEqual([
      ["n1", 0, TaskState.READY],
    ]);
    expect(summary(plan)).toEqual(["create slot 0 READY", "old-n1 → SHUTDOWN"]);
  });
});

describe("the replicated orchestrator leaves rolling to the updater", () => {
  const startFirst = svc({
    replicas: 1,
    state: UpdateState.UPDATING,
    update: { order: UpdateOrder.START_FIRST },
  });
  it("start-first: the old task keeps its slot while the new one is not up", () => {
    const plan = reconcileReplicated(
      { service: startFirst, tasks: [fresh(1, { state: TaskState.STARTING }), old(1)], nodes },
      ctx(),
    );
    expect(plan.updateTasks, describePlan(plan)).toEqual([]);
  });
  it("start-first: once the new task is up the old one is superseded", () => {
    const plan = reconcileReplicated({ service: startFirst, tasks: [fresh(1), old(1)], nodes }, ctx());
    expect(summary(plan)).toEqual(["old1 → SHUTDOWN"]);
  });
  it("a slot whose spec changed is not replaced by the orchestrator", () => {
    const plan = reconcileReplicated(
      { service: svc({ replicas: 2 }), tasks: [old(1), old(2)], nodes },
      ctx(),
    );
    expect(plan.createTasks.length + plan.updateTasks.length, describePlan(plan)).toBe(0);
  });
});
