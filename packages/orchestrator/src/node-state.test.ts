import { NodeAvailability, NodeState, type Task, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { node, service, summary, task } from "../test/fixtures.js";
import { reconcileNodeState } from "./node-state.js";
import { viewOf } from "./view.js";

const nodes = [
  node("up"),
  node("down", { state: NodeState.DOWN }),
  node("drained", { availability: NodeAvailability.DRAIN }),
  node("paused", { availability: NodeAvailability.PAUSE }),
];
const cases: { swarm: string; tasks: Task[]; want: string[] }[] = [
  {
    swarm: "a task on a down node is told to shut down at once (its slot is replaced, no grace)",
    tasks: [task("a", { node: "down" })],
    want: ["a → SHUTDOWN"],
  },
  {
    swarm: "drain shuts the node's tasks down",
    tasks: [task("a", { node: "drained" })],
    want: ["a → SHUTDOWN"],
  },
  { swarm: "pause leaves running tasks alone", tasks: [task("a", { node: "paused" })], want: [] },
  {
    swarm: "a task of a removed node is shut down",
    tasks: [task("a", { node: "gone" })],
    want: ["a → SHUTDOWN"],
  },
  {
    swarm: "a task that has already ended on a down node is left as it is",
    tasks: [task("a", { node: "down", state: TaskState.FAILED })],
    want: [],
  },
  {
    swarm: "a task already told to shut down is not rewritten",
    tasks: [task("a", { node: "down", desired: TaskState.SHUTDOWN })],
    want: [],
  },
  { swarm: "tasks on ready, active nodes are untouched", tasks: [task("a", { node: "up" })], want: [] },
];

describe("reconcileNodeState", () => {
  it.each(cases)("$swarm", (c) => {
    expect(summary(reconcileNodeState(viewOf({ nodes, services: [service("s1")], tasks: c.tasks })))).toEqual(
      c.want,
    );
  });
});
