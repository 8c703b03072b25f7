import { type Task, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { node, service, summary, task } from "../test/fixtures.js";
import { reconcileConstraints } from "./constraint-enforcer.js";
import { viewOf } from "./view.js";

const inZoneA = {
  placement: { constraints: ["node.labels.zone==a"], preferences: [], maxReplicasPerNode: 0, platforms: [] },
  networks: [],
  forceUpdate: 0,
};
const mem = (mib: number) => ({
  resources: { reservations: { nanoCpus: 0, memoryBytes: mib * 2 ** 20, pids: 0, generic: [] } },
  networks: [],
  forceUpdate: 0,
});

const cases: { swarm: string; nodes: ReturnType<typeof node>[]; tasks: Task[]; want: string[] }[] = [
  {
    swarm: "a task whose node lost the label its constraint needs is shut down",
    nodes: [node("n1", { labels: { zone: "b" } })],
    tasks: [task("a", { node: "n1", spec: inZoneA })],
    want: ["a → SHUTDOWN"],
  },
  {
    swarm: "a task whose node still matches stays",
    nodes: [node("n1", { labels: { zone: "a" } })],
    tasks: [task("a", { node: "n1", spec: inZoneA })],
    want: [],
  },
  {
    swarm: "a node whose memory shrank below its tasks' reservations sheds its newest tasks until they fit",
    nodes: [node("n1", { memGiB: 1 })],
    tasks: [
      task("old", { node: "n1", spec: mem(600), createdAtMs: 1 }),
      task("mid", { node: "n1", spec: mem(300), createdAtMs: 2 }),
      task("new", { node: "n1", spec: mem(300), createdAtMs: 3 }),
    ],
    want: ["new → SHUTDOWN"],
  },
  {
    swarm: "tasks that do not run yet are the scheduler's business, not the enforcer's",
    nodes: [node("n1", { labels: { zone: "b" } })],
    tasks: [task("a", { node: "n1", spec: inZoneA, state: TaskState.PENDING })],
    want: [],
  },
];

describe("reconcileConstraints", () => {
  it.each(cases)("$swarm", (c) => {
    expect(
      summary(reconcileConstraints(viewOf({ nodes: c.nodes, services: [service("s1")], tasks: c.tasks }))),
    ).toEqual(c.want);
  });
});
