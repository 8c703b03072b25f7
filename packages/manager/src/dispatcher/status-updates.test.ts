import { ShoalError } from "@shoal/base";
import { Task, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { ManagerErrorCode } from "../errors.js";
import { decideStatusUpdates } from "./status-updates.js";

const task = (id: string, nodeId: string, state: TaskState) =>
  Task.fromPartial({ id, nodeId, status: { state } });
const tasks = new Map([
  ["t1", task("t1", "n1", TaskState.ASSIGNED)],
  ["t2", task("t2", "n1", TaskState.RUNNING)],
  ["t9", task("t9", "n9", TaskState.ASSIGNED)],
]);
const report = (taskId: string, state: TaskState) => ({
  taskId,
  status: { state, timestampMs: 1, message: "", err: "" },
});

describe("decideStatusUpdates", () => {
  it("keeps forward moves of the node's own tasks, the last per task, and drops the rest", () => {
    const d = decideStatusUpdates(
      "n1",
      [
        report("t1", TaskState.ACCEPTED),
        report("t1", TaskState.RUNNING),
        report("t2", TaskState.ACCEPTED),
        report("gone", TaskState.RUNNING),
      ],
      (id) => tasks.get(id),
    );
    expect(d.accepted.map((u) => [u.taskId, u.status?.state])).toEqual([["t1", TaskState.RUNNING]]);
    expect(d.dropped.sort()).toEqual(["gone", "t2"]);
  });

  it("refuses the whole request when one report is about another node's task", () => {
    let err: unknown;
    try {
      decideStatusUpdates("n1", [report("t1", TaskState.ACCEPTED), report("t9", TaskState.FAILED)], (id) =>
        tasks.get(id),
      );
    } catch (e) {
      err = e;
    }
    expect(ShoalError.is(err, ManagerErrorCode.NotOwnTask)).toBe(true);
    expect((err as Error).message).toBe(
      'node "n1" reported the status of task "t9", which is assigned to node "n9"',
    );
  });
});
