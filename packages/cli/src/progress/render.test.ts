import { type Service, ServiceSpec, Task, TaskState, UpdateState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { type ProgressState, progressFrame } from "./render.js";

function service(mode: ServiceSpec["mode"], extra: Partial<Service> = {}): Service {
  return {
    id: "svc1",
    specVersion: 2,
    spec: ServiceSpec.fromPartial({ name: "web", mode, updateConfig: { monitorMs: 5000 } }),
    pendingDelete: false,
    ...extra,
  };
}

function task(
  slot: number,
  state: TaskState,
  extra: Partial<Task> & { err?: string; atMs?: number } = {},
): Task {
  const { err = "", atMs = 1000, ...rest } = extra;
  return Task.fromPartial({
    id: `t${slot}-${state}-${atMs}`,
    serviceId: "svc1",
    slot,
    nodeId: `node${slot}aaaaaaaaaaaaaaaaaaaaaa`,
    name: `web.${slot}`,
    specVersion: 2,
    serviceLabels: {},
    desiredState: state > TaskState.RUNNING ? TaskState.SHUTDOWN : TaskState.RUNNING,
    networks: [],
    assignedGenericResources: [],
    status: { timestampMs: atMs, state, message: "", err },
    ...rest,
  });
}

const replicated = (n: number) => service({ $case: "replicated", value: { replicas: n } });
const start: ProgressState = { startedAtMs: 0 };
const bar = (eq: number) =>
  eq >= 50 ? `[${"=".repeat(49)}>]` : `[${"=".repeat(eq)}>${" ".repeat(49 - eq)}]`;

describe("progressFrame", () => {
  const cases: [string, ProgressState, Service, Task[], number, number, string[], string][] = [
    [
      "one line per task with docker's bars",
      start,
      replicated(3),
      [task(1, TaskState.RUNNING), task(2, TaskState.PREPARING), task(3, TaskState.PENDING)],
      3,
      2000,
      [
        "overall progress: 1 out of 3 tasks",
        `1/3: running   ${bar(50)}`,
        `2/3: preparing ${bar(29)}`,
        `3/3: pending   ${bar(7)}`,
      ],
      "waiting",
    ],
    [
      "a task with an error shows the error instead of the bar",
      start,
      replicated(2),
      [
        task(1, TaskState.RUNNING),
        task(2, TaskState.PENDING, { err: "no suitable node (1 node not available)" }),
      ],
      2,
      2000,
      [
        "overall progress: 1 out of 2 tasks",
        `1/2: running   ${bar(50)}`,
        "2/2: pending   no suitable node (1 node not available)",
      ],
      "waiting",
    ],
    [
      "tasks not created yet count against the total",
      start,
      replicated(3),
      [task(1, TaskState.RUNNING)],
      3,
      2000,
      ["overall progress: 1 out of 3 tasks", `1/3: running   ${bar(50)}`],
      "waiting",
    ],
    [
      "all running opens the verify window",
      start,
      replicated(1),
      [task(1, TaskState.RUNNING)],
      1,
      2000,
      [
        "overall progress: 1 out of 1 tasks",
        `1/1: running   ${bar(50)}`,
        "verify: Waiting 5 seconds to verify that tasks are stable...",
      ],
      "waiting",
    ],
    [
      "after the window: converged",
      { startedAtMs: 0, allDoneSinceMs: 2000 },
      replicated(1),
      [task(1, TaskState.RUNNING)],
      1,
      7000,
      ["overall progress: 1 out of 1 tasks", `1/1: running   ${bar(50)}`, "verify: Service converged"],
      "converged",
    ],
    [
      "old tasks (older spec version, shut down) are not shown",
      start,
      replicated(1),
      [task(1, TaskState.SHUTDOWN, { specVersion: 1, atMs: 1 }), task(1, TaskState.STARTING, { atMs: 1500 })],
      1,
      2000,
      ["overall progress: 0 out of 1 tasks", `1/1: starting  ${bar(43)}`],
      "waiting",
    ],
    [
      "more than 20 tasks: the overall line only",
      start,
      replicated(25),
      Array.from({ length: 25 }, (_, i) => task(i + 1, i < 7 ? TaskState.RUNNING : TaskState.ASSIGNED)),
      25,
      2000,
      ["overall progress: 7 out of 25 tasks"],
      "waiting",
    ],
    [
      "global services show a line per node",
      start,
      service({ $case: "global", value: {} }),
      [task(1, TaskState.RUNNING), task(2, TaskState.READY)],
      2,
      2000,
      [
        "overall progress: 1 out of 2 tasks",
        `node1aaaaaaa: running   ${bar(50)}`,
        `node2aaaaaaa: ready     ${bar(36)}`,
      ],
      "waiting",
    ],
    [
      "jobs converge when every task completed",
      start,
      service({ $case: "replicatedJob", value: { totalCompletions: 2 } }),
      [
        task(1, TaskState.COMPLETE, { desiredState: TaskState.COMPLETE }),
        task(2, TaskState.COMPLETE, { desiredState: TaskState.COMPLETE }),
      ],
      2,
      2000,
      [
        "overall progress: 2 out of 2 tasks",
        `1/2: complete  ${bar(50)}`,
        `2/2: complete  ${bar(50)}`,
        "job complete",
      ],
      "converged",
    ],
  ];
  for (const [name, state, svc, tasks, desired, now, lines, outcome] of cases) {
    it(name, () => {
      const frame = progressFrame(state, { service: svc, tasks, desiredTasks: desired, nowMs: now });
      expect(frame.lines).toEqual(lines);
      expect(frame.outcome.kind).toBe(outcome);
    });
  }

  it("fails when a slot keeps failing, with each failed task's error", () => {
    const tasks = [
      task(1, TaskState.REJECTED, { atMs: 100, err: 'pull "nope:1": not found', id: "a" }),
      task(1, TaskState.REJECTED, { atMs: 200, err: 'pull "nope:1": not found', id: "b" }),
      task(1, TaskState.REJECTED, { atMs: 300, err: 'pull "nope:1": not found', id: "c" }),
      task(1, TaskState.PENDING, { atMs: 400 }),
    ];
    const frame = progressFrame(start, { service: replicated(1), tasks, desiredTasks: 1, nowMs: 500 });
    expect(frame.outcome).toEqual({
      kind: "failed",
      reason: "tasks failed 3 times",
      taskErrors: Array(3).fill('web.1: rejected: pull "nope:1": not found'),
    });
  });

  it("fails when the update pauses or rolls back", () => {
    const svc = replicated(1);
    svc.updateStatus = {
      state: UpdateState.PAUSED,
      startedAtMs: 0,
      completedAtMs: 0,
      message: "update paused due to failure or early termination of task t1",
    };
    const frame = progressFrame(start, {
      service: svc,
      tasks: [task(1, TaskState.RUNNING)],
      desiredTasks: 1,
      nowMs: 10,
    });
    expect(frame.outcome).toMatchObject({
      kind: "failed",
      reason: "update paused: update paused due to failure or early termination of task t1",
    });
  });

  it("a rollback the user asked for waits while it runs and fails only when it pauses", () => {
    const svc = replicated(1);
    const at = (state: UpdateState, message = "") => {
      svc.updateStatus = { state, startedAtMs: 0, completedAtMs: 0, message };
      return progressFrame(start, {
        service: svc,
        tasks: [task(1, TaskState.RUNNING)],
        desiredTasks: 1,
        nowMs: 10,
        rollback: true,
      }).outcome.kind;
    };
    expect(at(UpdateState.ROLLBACK_STARTED)).toBe("waiting");
    expect(at(UpdateState.ROLLBACK_COMPLETED)).not.toBe("failed");
    expect(at(UpdateState.ROLLBACK_PAUSED, "rollback paused due to failure of task t2")).toBe("failed");
  });

  it("failures of an earlier spec version do not count", () => {
    const tasks = [1, 2, 3].map((i) =>
      task(1, TaskState.FAILED, {
        atMs: i,
        id: `f${i}`,
        specVersion: 1,
        spec: ServiceSpec.fromPartial({ taskTemplate: { container: { image: "nginx:0" } } }).taskTemplate,
      }),
    );
    const frame = progressFrame(
      { startedAtMs: 100 },
      {
        service: replicated(1),
        tasks: [...tasks, task(1, TaskState.RUNNING, { atMs: 150 })],
        desiredTasks: 1,
        nowMs: 200,
      },
    );
    expect(frame.outcome.kind).toBe("waiting");
  });

  it("a failure inside the verify window restarts it", () => {
    const tasks = [
      task(1, TaskState.FAILED, { atMs: 3000, id: "x" }),
      task(1, TaskState.RUNNING, { atMs: 3500 }),
    ];
    const frame = progressFrame(
      { startedAtMs: 0, allDoneSinceMs: 2000 },
      { service: replicated(1), tasks, desiredTasks: 1, nowMs: 8000 },
    );
    expect(frame.outcome.kind).toBe("waiting");
    expect(frame.state.allDoneSinceMs).toBe(8000);
  });
});

describe("progressFrame during updates", () => {
  const withImage = (image: string, version: number) => {
    const s = replicated(2);
    s.specVersion = version;
    s.spec = ServiceSpec.fromPartial({ ...s.spec, taskTemplate: { container: { image } } });
    return s;
  };
  const running = (slot: number, image: string, specVersion: number) =>
    task(slot, TaskState.RUNNING, {
      specVersion,
      spec: ServiceSpec.fromPartial({ taskTemplate: { container: { image } } }).taskTemplate,
    });

  it("a task still running the old spec is not done", () => {
    const svc = withImage("nginx:2", 3);
    const frame = progressFrame(start, {
      service: svc,
      tasks: [running(1, "nginx:2", 3), running(2, "nginx:1", 2)],
      desiredTasks: 2,
      nowMs: 10,
    });
    expect(frame.lines[0]).toBe("overall progress: 1 out of 2 tasks");
    expect(frame.outcome.kind).toBe("waiting");
  });

  it("after a scale (new version, same template) the running tasks count", () => {
    const svc = withImage("nginx:1", 4);
    const frame = progressFrame(start, {
      service: svc,
      tasks: [running(1, "nginx:1", 2), running(2, "nginx:1", 4)],
      desiredTasks: 2,
      nowMs: 10,
    });
    expect(frame.lines[0]).toBe("overall progress: 2 out of 2 tasks");
  });

  it("is not converged while the manager reports the update in progress", () => {
    const svc = withImage("nginx:1", 2);
    svc.updateStatus = { state: UpdateState.UPDATING, startedAtMs: 0, completedAtMs: 0, message: "" };
    svc.spec = ServiceSpec.fromPartial({ ...svc.spec, updateConfig: { monitorMs: 0 } });
    const frame = progressFrame(start, {
      service: svc,
      tasks: [running(1, "nginx:1", 2), running(2, "nginx:1", 2)],
      desiredTasks: 2,
      nowMs: 10,
    });
    expect(frame.outcome.kind).toBe("waiting");
    svc.updateStatus.state = UpdateState.COMPLETED;
    expect(
      progressFrame(start, {
        service: svc,
        tasks: [running(1, "nginx:1", 2), running(2, "nginx:1", 2)],
        desiredTasks: 2,
        nowMs: 10,
      }).outcome.kind,
    ).toBe("converged");
  });
});

describe("progressFrame: each slot moving from old to new", () => {
  const OLD = ServiceSpec.fromPartial({ taskTemplate: { container: { image: "web:1" } } }).taskTemplate;
  const NEW = ServiceSpec.fromPartial({ taskTemplate: { container: { image: "web:2" } } }).taskTemplate;
  const rolling = (state: UpdateState | undefined, message = "") => {
    const s = replicated(2);
    s.spec = ServiceSpec.fromPartial({
      ...s.spec,
      taskTemplate: NEW,
      updateConfig: { monitorMs: 5000, order: 2 },
      rollbackConfig: { monitorMs: 2000 },
    });
    if (state !== undefined) s.updateStatus = { state, startedAtMs: 0, completedAtMs: 0, message };
    return s;
  };
  const oldTask = (slot: number, state: TaskState, atMs = 10) =>
    task(slot, state, { id: `old${slot}`, spec: OLD, specVersion: 1, atMs, desiredState: TaskState.RUNNING });
  const newTask = (slot: number, state: TaskState, extra: Partial<Task> & { atMs?: number } = {}) =>
    task(slot, state, { id: `new${slot}`, spec: NEW, atMs: 2000, ...extra });
  const b = (eq: number) =>
    eq >= 20 ? `[${"=".repeat(19)}>]` : `[${"=".repeat(eq)}>${" ".repeat(19 - eq)}]`;

  it("start-first: old running → new starting, then the new one up in its monitor window", () => {
    let state: ProgressState = start;
    const frame = (svc: Service, tasks: Task[], nowMs: number) => {
      const f = progressFrame(state, { service: svc, tasks, desiredTasks: 2, nowMs });
      state = f.state;
      return f;
    };
    // Before the manager's updater acted: both slots still on the old spec.
    expect(
      frame(rolling(undefined), [oldTask(1, TaskState.RUNNING), oldTask(2, TaskState.RUNNING)], 1000).lines,
    ).toEqual([
      "overall progress: 0 out of 2 tasks",
      "1/2: old running   → waiting",
      "2/2: old running   → waiting",
    ]);
    const second = frame(
      rolling(UpdateState.UPDATING),
      [oldTask(1, TaskState.RUNNING), newTask(1, TaskState.STARTING), oldTask(2, TaskState.RUNNING)],
      2500,
    );
    expect(second.lines).toEqual([
      "overall progress: 0 out of 2 tasks",
      `1/2: old running   → new starting  ${b(17)}`,
      "2/2: old running   → waiting",
    ]);
    expect(second.outcome.kind).toBe("waiting");
    // The new task is up (upAtMs 3000, 5 s monitor): the old one is stopped, the next slot goes.
    const third = frame(
      rolling(UpdateState.UPDATING),
      [
        oldTask(1, TaskState.SHUTDOWN, 3100),
        newTask(1, TaskState.RUNNING, { upAtMs: 3000 }),
        oldTask(2, TaskState.RUNNING),
        newTask(2, TaskState.PREPARING, { id: "new2" }),
      ],
      4000,
    );
    expect(third.lines).toEqual([
      "overall progress: 1 out of 2 tasks",
      `1/2: old shutdown  → new running   ${b(20)} verify 4 s`,
      `2/2: old running   → new preparing ${b(11)}`,
    ]);
    // Every slot up: the manager's last monitor window is the verify window.
    const tasks = [
      oldTask(1, TaskState.SHUTDOWN, 3100),
      newTask(1, TaskState.RUNNING, { upAtMs: 3000 }),
      oldTask(2, TaskState.SHUTDOWN, 6100),
      newTask(2, TaskState.RUNNING, { upAtMs: 6000 }),
    ];
    const fourth = frame(rolling(UpdateState.UPDATING), tasks, 9000);
    expect(fourth.lines.slice(1)).toEqual([
      `1/2: old shutdown  → new running   ${b(20)}`,
      `2/2: old shutdown  → new running   ${b(20)} verify 2 s`,
      "verify: Waiting 2 seconds to verify that tasks are stable...",
    ]);
    expect(fourth.outcome.kind).toBe("waiting");
    // The manager says completed (after its window): converged at once, no second window.
    const last = frame(rolling(UpdateState.COMPLETED, "update completed"), tasks, 11_100);
    expect(last.lines.at(-1)).toBe("verify: Service converged");
    expect(last.outcome.kind).toBe("converged");
  });

  it("an update that was rolled back waits for the rollback, then fails with the manager's reason", () => {
    const why = "update rolled back due to failure or early termination of task new1 (unhealthy)";
    // The rollback's target is the old spec again: it is the "current" one now.
    const back = (state: UpdateState, message: string) => {
      const s = rolling(state, message);
      s.spec = ServiceSpec.fromPartial({ ...s.spec, taskTemplate: OLD });
      return s;
    };
    const tasks = [
      task(1, TaskState.RUNNING, { id: "new1", spec: NEW, atMs: 2000, desiredState: TaskState.SHUTDOWN }),
      oldTask(1, TaskState.STARTING, 2500),
      oldTask(2, TaskState.RUNNING),
    ];
    const during = progressFrame(start, {
      service: back(UpdateState.ROLLBACK_STARTED, why),
      tasks,
      desiredTasks: 2,
      nowMs: 3000,
    });
    expect(during.outcome.kind).toBe("waiting");
    expect(during.lines.at(-1)).toBe(`rollback: ${why}`);
    const after = progressFrame(during.state, {
      service: back(UpdateState.ROLLBACK_COMPLETED, `rollback completed: ${why}`),
      tasks,
      desiredTasks: 2,
      nowMs: 6000,
    });
    expect(after.outcome).toMatchObject({
      kind: "failed",
      reason: `update rolled back: rollback completed: ${why}`,
    });
  });

  it("while the manager rolls, a slot that keeps failing is its failure action's to judge", () => {
    const tasks = [
      ...[1, 2, 3].map((i) => newTask(1, TaskState.FAILED, { id: `f${i}`, atMs: i * 100 })),
      oldTask(1, TaskState.RUNNING),
      oldTask(2, TaskState.RUNNING),
    ];
    const input = { tasks, desiredTasks: 2, nowMs: 1000 };
    expect(progressFrame(start, { ...input, service: rolling(UpdateState.UPDATING) }).outcome.kind).toBe(
      "waiting",
    );
    expect(
      progressFrame(start, { ...input, service: rolling(UpdateState.PAUSED, "update paused due to …") })
        .outcome,
    ).toMatchObject({ kind: "failed", reason: "update paused: update paused due to …" });
  });

  it("stop-first: the old task stops first, the new one waits for it", () => {
    const frame = progressFrame(start, {
      service: rolling(UpdateState.UPDATING),
      tasks: [
        task(1, TaskState.RUNNING, {
          id: "old1",
          spec: OLD,
          specVersion: 1,
          desiredState: TaskState.SHUTDOWN,
        }),
        newTask(1, TaskState.READY, { desiredState: TaskState.READY }),
        oldTask(2, TaskState.RUNNING),
      ],
      desiredTasks: 2,
      nowMs: 2100,
    });
    expect(frame.lines).toEqual([
      "overall progress: 0 out of 2 tasks",
      `1/2: old running   → new ready     ${b(14)}`,
      "2/2: old running   → waiting",
    ]);
  });
});
