import { RestartCondition, type Task, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { ctx, node, service, summary, task } from "../test/fixtures.js";
import { reconcileGlobalJob, reconcileReplicatedJob } from "./jobs.js";
import { describePlan } from "./plan.js";

const nodes = new Map([node("n1"), node("n2")].map((n) => [n.id, n]));
const job = (iteration = 0, policy: Record<string, unknown> = { delayMs: 0 }) =>
  service(
    "s1",
    {
      mode: { $case: "replicatedJob", value: { maxConcurrent: 2, totalCompletions: 4 } },
      taskTemplate: { restartPolicy: policy },
    },
    { jobStatus: { jobIteration: iteration, lastExecutionMs: 0 } },
  );
const done = (id: string, slot: number, iteration = 0) =>
  task(id, { slot, node: "n1", state: TaskState.COMPLETE, jobIteration: iteration });
const running = (id: string, slot: number, iteration = 0) =>
  task(id, { slot, node: "n1", jobIteration: iteration });

interface Case {
  swarm: string;
  service: ReturnType<typeof job>;
  tasks: Task[];
  want: string[];
}

const cases: Case[] = [
  {
    swarm: "a replicated job starts max-concurrent slots first",
    service: job(),
    tasks: [],
    want: ["create slot 1 RUNNING", "create slot 2 RUNNING"],
  },
  {
    swarm: "a completed slot frees room for the next slot; completed tasks are not restarted",
    service: job(),
    tasks: [done("a", 1), running("b", 2)],
    want: ["create slot 3 RUNNING"],
  },
  {
    swarm: "the job is finished after total-completions successes",
    service: job(),
    tasks: [done("a", 1), done("b", 2), done("c", 3), done("d", 4)],
    want: [],
  },
  {
    swarm: "a failed job task is restarted (jobs default to on-failure)",
    service: job(),
    tasks: [task("a", { slot: 1, node: "n1", state: TaskState.FAILED, jobIteration: 0 }), running("b", 2)],
    want: ["a → SHUTDOWN", "create slot 1 RUNNING"],
  },
  {
    swarm: "restart condition none: a failed job task stays failed and its slot is not rerun",
    service: job(0, { condition: RestartCondition.NONE }),
    tasks: [task("a", { slot: 1, node: "n1", state: TaskState.FAILED, jobIteration: 0 }), done("b", 2)],
    want: ["create slot 3 RUNNING", "create slot 4 RUNNING"],
  },
  {
    swarm:
      "a new job iteration shuts down the old run (ended tasks become history) and starts over, each slot once its old task stopped",
    service: job(1),
    tasks: [done("a", 1, 0), running("b", 2, 0)],
    want: ["a → SHUTDOWN", "b → SHUTDOWN", "create slot 1 RUNNING", "create slot 2 READY"],
  },
];

describe("reconcileReplicatedJob", () => {
  it.each(cases)("$swarm", (c) => {
    const tasks = c.tasks.map((t) => ({ ...t, spec: c.service.spec?.taskTemplate }));
    const plan = reconcileReplicatedJob({ service: c.service, tasks, nodes }, ctx());
    expect(summary(plan), describePlan(plan)).toEqual([...c.want].sort());
  });

  it("tasks carry the job iteration they belong to", () => {
    const plan = reconcileReplicatedJob({ service: job(3), tasks: [], nodes }, ctx());
    expect(plan.createTasks.map((c) => c.object.jobIteration)).toEqual([3, 3]);
  });
});

describe("reconcileGlobalJob", () => {
  const gjob = (iteration = 0) =>
    service(
      "s1",
      { mode: { $case: "globalJob", value: {} } },
      { jobStatus: { jobIteration: iteration, lastExecutionMs: 0 } },
    );
  it("runs once on every eligible node", () => {
    expect(summary(reconcileGlobalJob({ service: gjob(), tasks: [], nodes }, ctx()))).toEqual([
      "create node n1 RUNNING",
      "create node n2 RUNNING",
    ]);
  });
  it("does not rerun a node whose task completed, and runs on a node that joined", () => {
    const tasks = [task("a", { node: "n1", state: TaskState.COMPLETE, jobIteration: 0 })];
    expect(summary(reconcileGlobalJob({ service: gjob(), tasks, nodes }, ctx()))).toEqual([
      "create node n2 RUNNING",
    ]);
  });
  it("reruns everywhere on a new iteration", () => {
    const tasks = [
      task("a", { node: "n1", state: TaskState.COMPLETE, jobIteration: 0 }),
      task("b", { node: "n2", jobIteration: 0 }),
    ];
    expect(summary(reconcileGlobalJob({ service: gjob(1), tasks, nodes }, ctx()))).toEqual([
      "a → SHUTDOWN",
      "b → SHUTDOWN",
      "create node n1 RUNNING",
      "create node n2 READY",
    ]);
  });
});
