import { NodeAvailability, NodeState, RestartCondition, type Task, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { ctx, node, service, summary, task } from "../test/fixtures.js";
import { reconcileGlobal } from "./global.js";
import { describePlan } from "./plan.js";

const svc = service("s1", {
  mode: { $case: "global", value: {} },
  taskTemplate: {
    placement: { constraints: ["node.labels.zone==a"] },
    restartPolicy: { condition: RestartCondition.ANY, delayMs: 0 },
  },
});
const zoneA = { labels: { zone: "a" } };

interface Case {
  swarm: string;
  nodes: ReturnType<typeof node>[];
  tasks: Task[];
  want: string[];
}

const cases: Case[] = [
  {
    swarm: "every eligible node gets one task",
    nodes: [node("n1", zoneA), node("n2", zoneA)],
    tasks: [],
    want: ["create node n1 RUNNING", "create node n2 RUNNING"],
  },
  {
    swarm: "a node that does not match the constraints gets none",
    nodes: [node("n1", zoneA), node("n2", { labels: { zone: "b" } })],
    tasks: [],
    want: ["create node n1 RUNNING"],
  },
  {
    swarm: "a node that already runs the service's task gets no second one",
    nodes: [node("n1", zoneA)],
    tasks: [task("a", { node: "n1" })],
    want: [],
  },
  {
    swarm: "a node that joins later gets one",
    nodes: [node("n1", zoneA), node("n2", zoneA)],
    tasks: [task("a", { node: "n1" })],
    want: ["create node n2 RUNNING"],
  },
  {
    swarm: "a node that loses the matching label loses its task",
    nodes: [node("n1", { labels: { zone: "b" } })],
    tasks: [task("a", { node: "n1" })],
    want: ["a → SHUTDOWN"],
  },
  {
    swarm: "a drained node loses its task",
    nodes: [node("n1", { ...zoneA, availability: NodeAvailability.DRAIN })],
    tasks: [task("a", { node: "n1" })],
    want: ["a → SHUTDOWN"],
  },
  {
    swarm: "a removed node's task is shut down",
    nodes: [],
    tasks: [task("a", { node: "gone" })],
    want: ["a → SHUTDOWN"],
  },
  {
    swarm: "a down node's task is shut down",
    nodes: [node("n1", { ...zoneA, state: NodeState.DOWN })],
    tasks: [task("a", { node: "n1" })],
    want: ["a → SHUTDOWN"],
  },
  {
    swarm: "a node back from down gets a fresh task (its stale one stays told to shut down)",
    nodes: [node("n1", zoneA)],
    tasks: [task("a", { node: "n1", desired: TaskState.SHUTDOWN })],
    want: ["create node n1 READY"],
  },
  {
    swarm: "a paused node keeps its task",
    nodes: [node("n1", { ...zoneA, availability: NodeAvailability.PAUSE })],
    tasks: [task("a", { node: "n1" })],
    want: [],
  },
  {
    swarm: "a paused node gets no new task",
    nodes: [node("n1", { ...zoneA, availability: NodeAvailability.PAUSE })],
    tasks: [],
    want: [],
  },
  {
    swarm: "a paused node's failed task is not restarted there (pause places nothing new)",
    nodes: [node("n1", { ...zoneA, availability: NodeAvailability.PAUSE })],
    tasks: [task("a", { node: "n1", state: TaskState.FAILED })],
    want: [],
  },
  {
    swarm: "a failed task is restarted on its node",
    nodes: [node("n1", zoneA)],
    tasks: [task("a", { node: "n1", state: TaskState.FAILED })],
    want: ["a → SHUTDOWN", "create node n1 RUNNING"],
  },
  {
    swarm: "a node that is not ready yet gets nothing",
    nodes: [node("n1", { ...zoneA, state: NodeState.UNKNOWN })],
    tasks: [],
    want: [],
  },
];

describe("reconcileGlobal", () => {
  it.each(cases)("$swarm", (c) => {
    const tasks = c.tasks.map((t) => ({ ...t, spec: svc.spec?.taskTemplate }));
    const plan = reconcileGlobal(
      { service: svc, tasks, nodes: new Map(c.nodes.map((n) => [n.id, n])) },
      ctx(),
    );
    expect(summary(plan), describePlan(plan)).toEqual([...c.want].sort());
  });
});
