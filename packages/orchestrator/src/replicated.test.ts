import { NodeState, RestartCondition, type Task, TaskState, UpdateOrder } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { ctx, NOW, node, service, summary, task } from "../test/fixtures.js";
import { describePlan } from "./plan.js";
import { reconcileReplicated } from "./replicated.js";

const nodes = new Map(
  [node("n1"), node("n2"), node("n3"), node("down", { state: NodeState.DOWN })].map((n) => [n.id, n]),
);
const replicated = (
  replicas: number,
  template: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
) => service("s1", { mode: { $case: "replicated", value: { replicas } }, taskTemplate: template, ...extra });
const restart = (p: Record<string, unknown>) => ({
  restartPolicy: { condition: RestartCondition.ANY, ...p },
});

interface Case {
  swarm: string;
  replicas: number;
  template?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  tasks: Task[];
  want: string[];
  notes?: RegExp;
  timers?: number[];
}

const cases: Case[] = [
  {
    swarm: "a new service creates slots 1..replicas",
    replicas: 3,
    tasks: [],
    want: ["create slot 1 RUNNING", "create slot 2 RUNNING", "create slot 3 RUNNING"],
  },
  {
    swarm: "scale up creates only the missing slots",
    replicas: 3,
    tasks: [task("a", { slot: 1, node: "n1" }), task("b", { slot: 2, node: "n2" })],
    want: ["create slot 3 RUNNING"],
  },
  {
    swarm: "scale down removes tasks that are not yet running first",
    replicas: 2,
    tasks: [
      task("a", { slot: 1, node: "n1" }),
      task("b", { slot: 2, node: "n2", state: TaskState.PENDING }),
      task("c", { slot: 3, node: "n3" }),
    ],
    want: ["b → SHUTDOWN"],
  },
  {
    swarm: "scale down then prefers the node holding the most tasks of the service",
    replicas: 2,
    tasks: [
      task("a", { slot: 1, node: "n1" }),
      task("b", { slot: 2, node: "n2" }),
      task("c", { slot: 3, node: "n2" }),
    ],
    want: ["c → SHUTDOWN"],
  },
  {
    swarm: "scale down otherwise removes the highest slots",
    replicas: 1,
    tasks: [
      task("a", { slot: 1, node: "n1" }),
      task("b", { slot: 2, node: "n2" }),
      task("c", { slot: 3, node: "n3" }),
    ],
    want: ["b → SHUTDOWN", "c → SHUTDOWN"],
  },
  {
    swarm: "a freed slot number is reused lowest first (dead slots are refilled before new ones)",
    replicas: 2,
    tasks: [
      task("a", { slot: 2, node: "n1" }),
      task("old", { slot: 1, node: "n2", state: TaskState.SHUTDOWN, desired: TaskState.SHUTDOWN }),
    ],
    want: ["create slot 1 RUNNING"],
  },
  {
    swarm: "restart condition any: a failed task's slot gets a replacement after the 5 s default delay",
    replicas: 1,
    tasks: [task("a", { slot: 1, node: "n1", state: TaskState.FAILED })],
    want: ["a → SHUTDOWN", "create slot 1 READY@+5000"],
    timers: [NOW + 5000],
  },
  {
    swarm: "restart with delay 0 starts the replacement at once",
    replicas: 1,
    template: restart({ delayMs: 0 }),
    tasks: [task("a", { slot: 1, node: "n1", state: TaskState.COMPLETE })],
    want: ["a → SHUTDOWN", "create slot 1 RUNNING"],
  },
  {
    swarm: "restart condition none: the slot keeps its ended task and is not refilled",
    replicas: 1,
    template: { restartPolicy: { condition: RestartCondition.NONE } },
    tasks: [task("a", { slot: 1, node: "n1", state: TaskState.FAILED })],
    want: [],
    notes: /restart condition is none/,
  },
  {
    swarm: "restart condition on-failure does not restart a task that completed",
    replicas: 1,
    template: { restartPolicy: { condition: RestartCondition.ON_FAILURE } },
    tasks: [task("a", { slot: 1, node: "n1", state: TaskState.COMPLETE })],
    want: [],
    notes: /does not restart a success/,
  },
  {
    swarm: "restart condition on-failure restarts a failed task",
    replicas: 1,
    template: { restartPolicy: { condition: RestartCondition.ON_FAILURE, delayMs: 0 } },
    tasks: [task("a", { slot: 1, node: "n1", state: TaskState.FAILED })],
    want: ["a → SHUTDOWN", "create slot 1 RUNNING"],
  },
  {
    swarm:
      "max attempts: no restart once the attempts within the window are used, look again when one leaves it",
    replicas: 1,
    template: restart({ delayMs: 0, maxAttempts: 2, windowMs: 60_000 }),
    tasks: [
      task("a", { slot: 1, node: "n1", state: TaskState.FAILED, history: [NOW - 50_000, NOW - 10_000] }),
    ],
    want: [],
    notes: /2 of 2 restart attempts used within 60000 ms/,
    timers: [NOW + 10_000],
  },
  {
    swarm: "max attempts: restarts counted within the window only",
    replicas: 1,
    template: restart({ delayMs: 0, maxAttempts: 2, windowMs: 60_000 }),
    tasks: [
      task("a", { slot: 1, node: "n1", state: TaskState.FAILED, history: [NOW - 70_000, NOW - 10_000] }),
    ],
    want: ["a → SHUTDOWN", "create slot 1 RUNNING"],
  },
  {
    swarm: "a slot's restart delay is over: the READY replacement is started",
    replicas: 1,
    tasks: [
      task("r", {
        slot: 1,
        node: "n1",
        state: TaskState.READY,
        desired: TaskState.READY,
        restartAtMs: NOW,
        createdAtMs: 2,
      }),
      task("a", {
        slot: 1,
        node: "n1",
        state: TaskState.FAILED,
        desired: TaskState.SHUTDOWN,
        createdAtMs: 1,
      }),
    ],
    want: ["r → RUNNING"],
  },
  {
    swarm: "stop-first: a replacement waits while the old task still runs on a live node",
    replicas: 1,
    tasks: [
      task("r", { slot: 1, node: "n2", state: TaskState.READY, desired: TaskState.READY, createdAtMs: 2 }),
      task("a", {
        slot: 1,
        node: "n1",
        state: TaskState.RUNNING,
        desired: TaskState.SHUTDOWN,
        createdAtMs: 1,
      }),
    ],
    want: [],
  },
  {
    swarm: "start-first: the replacement starts without waiting for the old task",
    replicas: 1,
    extra: { updateConfig: { order: UpdateOrder.START_FIRST } },
    tasks: [
      task("r", { slot: 1, node: "n2", state: TaskState.READY, desired: TaskState.READY, createdAtMs: 2 }),
      task("a", {
        slot: 1,
        node: "n1",
        state: TaskState.RUNNING,
        desired: TaskState.SHUTDOWN,
        createdAtMs: 1,
      }),
    ],
    want: ["r → RUNNING"],
  },
  {
    swarm: "a slot freed by a drain is refilled READY until the old task stops (one task per slot runs)",
    replicas: 1,
    tasks: [task("a", { slot: 1, node: "n1", state: TaskState.RUNNING, desired: TaskState.SHUTDOWN })],
    want: ["create slot 1 READY"],
  },
  {
    swarm: "an old task on a down node does not hold the slot: the replacement runs at once",
    replicas: 1,
    tasks: [task("a", { slot: 1, node: "down", state: TaskState.RUNNING, desired: TaskState.SHUTDOWN })],
    want: ["create slot 1 RUNNING"],
  },
  {
    swarm: "two live tasks in one slot: the older is shut down",
    replicas: 1,
    tasks: [
      task("a", { slot: 1, node: "n1", createdAtMs: 1 }),
      task("b", { slot: 1, node: "n2", createdAtMs: 2 }),
    ],
    want: ["a → SHUTDOWN"],
  },
  {
    swarm: "replicas 0 shuts every task down",
    replicas: 0,
    tasks: [task("a", { slot: 1, node: "n1" })],
    want: ["a → SHUTDOWN"],
  },
];

describe("reconcileReplicated", () => {
  it.each(cases)("$swarm", (c) => {
    const svc = replicated(c.replicas, c.template ?? {}, c.extra ?? {});
    // Tasks are copies of the template: the restart policy a decision reads is the task's.
    const tasks = c.tasks.map((t) => ({ ...t, spec: svc.spec?.taskTemplate }));
    const plan = reconcileReplicated({ service: svc, tasks, nodes }, ctx());
    expect(summary(plan), describePlan(plan)).toEqual([...c.want].sort());
    if (c.notes !== undefined) expect(plan.notes.join("\n")).toMatch(c.notes);
    if (c.timers !== undefined) expect(plan.timers.map((t) => t.atMs)).toEqual(c.timers);
  });

  it("a replacement keeps the slot's restart history so max attempts count across tasks", () => {
    const svc = replicated(1, restart({ delayMs: 0, maxAttempts: 3 }));
    const failed = task("a", {
      slot: 1,
      node: "n1",
      state: TaskState.FAILED,
      history: [NOW - 5],
      spec: svc.spec?.taskTemplate,
    });
    const plan = reconcileReplicated({ service: svc, tasks: [failed], nodes }, ctx());
    expect(plan.createTasks[0]?.object.restartHistoryMs).toEqual([NOW - 5, NOW]);
    expect(plan.createTasks[0]?.object.specVersion).toBe(7);
    expect(plan.createTasks[0]?.object.name).toBe("s1.1.new1");
  });
});
