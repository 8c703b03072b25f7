import { RestartCondition, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { NOW, task } from "../test/fixtures.js";
import { decideRestart, restartPolicyOf } from "./restart.js";

const ended = (
  state: TaskState,
  policy: Record<string, unknown> | undefined,
  history: number[] = [],
  restartAtMs = 0,
) =>
  task("a", {
    state,
    history,
    restartAtMs,
    spec: { restartPolicy: policy as never, networks: [], forceUpdate: 0 },
  });

describe("restart supervisor", () => {
  it("Swarm's defaults: condition any, 5 s delay, unlimited attempts; jobs default to on-failure", () => {
    expect(restartPolicyOf(ended(TaskState.FAILED, undefined), false)).toEqual({
      condition: RestartCondition.ANY,
      delayMs: 5000,
      maxAttempts: 0,
      windowMs: 0,
    });
    expect(restartPolicyOf(ended(TaskState.FAILED, undefined), true).condition).toBe(
      RestartCondition.ON_FAILURE,
    );
  });

  const cases = [
    {
      swarm: "any restarts a completed task",
      state: TaskState.COMPLETE,
      policy: { condition: RestartCondition.ANY, delayMs: 100 },
      kind: "restart",
      at: NOW + 100,
    },
    {
      swarm: "any restarts a failed task",
      state: TaskState.FAILED,
      policy: { condition: RestartCondition.ANY },
      kind: "restart",
      at: NOW + 5000,
    },
    {
      swarm: "on-failure restarts a failed task",
      state: TaskState.FAILED,
      policy: { condition: RestartCondition.ON_FAILURE, delayMs: 0 },
      kind: "restart",
      at: NOW,
    },
    {
      swarm: "on-failure restarts a rejected task",
      state: TaskState.REJECTED,
      policy: { condition: RestartCondition.ON_FAILURE, delayMs: 0 },
      kind: "restart",
      at: NOW,
    },
    {
      swarm: "on-failure holds a completed task",
      state: TaskState.COMPLETE,
      policy: { condition: RestartCondition.ON_FAILURE },
      kind: "hold",
    },
    {
      swarm: "none holds every task",
      state: TaskState.FAILED,
      policy: { condition: RestartCondition.NONE },
      kind: "hold",
    },
    {
      swarm: "max attempts without a window counts every restart",
      state: TaskState.FAILED,
      policy: { maxAttempts: 2 },
      history: [1, 2],
      kind: "hold",
    },
    {
      swarm: "max attempts with a window forgets older restarts",
      state: TaskState.FAILED,
      policy: { maxAttempts: 1, windowMs: 1000 },
      history: [NOW - 1000],
      kind: "restart",
      at: NOW + 5000,
    },
    {
      swarm: "a task rejected while it waited out its delay is replaced when the delay ends",
      state: TaskState.REJECTED,
      policy: { condition: RestartCondition.ANY, delayMs: 5000 },
      restartAtMs: NOW + 4000,
      kind: "hold",
      retryAt: NOW + 4000,
    },
    {
      swarm: "a task rejected at its restart time is replaced with the delay",
      state: TaskState.REJECTED,
      policy: { condition: RestartCondition.ANY, delayMs: 5000 },
      restartAtMs: NOW,
      kind: "restart",
      at: NOW + 5000,
    },
    {
      swarm: "a rejected task restarts after the delay (once running it was promoted past it)",
      state: TaskState.REJECTED,
      policy: { condition: RestartCondition.ANY, delayMs: 5000 },
      restartAtMs: NOW - 1,
      kind: "restart",
      at: NOW + 5000,
    },
    {
      swarm: "a task failed before its restart time is held too; restart condition none still wins",
      state: TaskState.FAILED,
      policy: { condition: RestartCondition.NONE, delayMs: 5000 },
      restartAtMs: NOW + 4000,
      kind: "hold",
    },
  ];
  it.each(cases)("$swarm", (c) => {
    const d = decideRestart(
      ended(c.state, c.policy, c.history, (c as { restartAtMs?: number }).restartAtMs),
      NOW,
      false,
    );
    expect(d.kind).toBe(c.kind);
    if (d.kind === "restart") expect(d.restartAtMs).toBe(c.at);
    const retryAt = (c as { retryAt?: number }).retryAt;
    if (d.kind === "hold" && retryAt !== undefined) expect(d.retryAtMs).toBe(retryAt);
  });

  it("keeps only the attempts that can still count", () => {
    const d = decideRestart(
      ended(TaskState.FAILED, { maxAttempts: 2, windowMs: 1000 }, [NOW - 5000, NOW - 10]),
      NOW,
      false,
    );
    expect(d.kind === "restart" && d.restartHistoryMs).toEqual([NOW - 10, NOW]);
    const unlimited = decideRestart(ended(TaskState.FAILED, {}, []), NOW, false);
    expect(unlimited.kind === "restart" && unlimited.restartHistoryMs).toEqual([]);
  });
});
