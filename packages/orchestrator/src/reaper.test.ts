import { NodeState, type Task, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { cluster, node, service, summary, task } from "../test/fixtures.js";
import { reconcileReaper } from "./reaper.js";
import { viewOf } from "./view.js";

const dead = (id: string, at: number, o: Parameters<typeof task>[1] = {}) =>
  task(id, {
    slot: 1,
    node: "n1",
    state: TaskState.FAILED,
    desired: TaskState.SHUTDOWN,
    createdAtMs: at,
    ...o,
  });
const history = (n: number, o: Parameters<typeof task>[1] = {}) =>
  Array.from({ length: n }, (_, i) => dead(`h${i}`, i, o));

const cases: { swarm: string; tasks: Task[]; want: string[]; limit?: number; services?: string[] }[] = [
  {
    swarm: "up to 5 finished tasks per slot are kept (the default history limit)",
    tasks: [task("live", { slot: 1, node: "n1" }), ...history(5)],
    want: [],
  },
  {
    swarm: "older finished tasks beyond the limit are deleted, oldest first",
    tasks: history(7),
    want: ["remove h0", "remove h1"],
  },
  {
    swarm: "the cluster's task history retention limit applies",
    tasks: history(3),
    limit: 1,
    want: ["remove h0", "remove h1"],
  },
  {
    swarm: "global services keep history per node",
    tasks: [...history(6, { slot: 0, node: "n1" }), dead("other", 9, { slot: 0, node: "n2" })],
    want: ["remove h0"],
  },
  {
    swarm: "a task an agent may still report (told to stop, not yet stopped) is never deleted",
    tasks: [...history(5), dead("stopping", -1, { state: TaskState.RUNNING })],
    limit: 0,
    want: ["remove h0", "remove h1", "remove h2", "remove h3", "remove h4"],
  },
  {
    swarm: "a task on a down node may still be reported when it returns: kept",
    tasks: [dead("stale", 0, { node: "down", state: TaskState.RUNNING })],
    limit: 0,
    want: [],
  },
  {
    swarm: "tasks of a node removed from the cluster cannot be reported: deleted",
    tasks: [dead("orphan", 0, { node: "gone", state: TaskState.RUNNING })],
    limit: 0,
    want: ["remove orphan"],
  },
  {
    swarm: "a removed service's running tasks are told REMOVE, the ones that are down are deleted",
    services: [],
    tasks: [
      task("run", { slot: 1, node: "n1" }),
      dead("ended", 0),
      task("unplaced", { slot: 2, state: TaskState.PENDING }),
    ],
    want: ["remove ended", "remove unplaced", "run → REMOVE"],
  },
];

describe("reconcileReaper", () => {
  it.each(cases)("$swarm", (c) => {
    const view = viewOf({
      nodes: [node("n1"), node("n2"), node("down", { state: NodeState.DOWN })],
      services: (c.services ?? ["s1"]).map((id) => service(id)),
      tasks: c.tasks,
      cluster:
        c.limit === undefined
          ? undefined
          : cluster({ orchestration: { taskHistoryRetentionLimit: c.limit } }),
    });
    expect(summary(reconcileReaper(view))).toEqual(c.want);
  });
});
