import { TaskState, taskStateToJSON } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { type ControllerAction, type ControllerInput, nextAction } from "./next-action.js";

const S = TaskState;
const base: ControllerInput = {
  state: S.ASSIGNED,
  desiredState: S.RUNNING,
  hasHealthcheck: false,
  imagePresent: false,
  network: "detached",
  maxTransientAttempts: 5,
};
const running = { state: "running" } as const;
const created = { state: "created" } as const;
const exited = (exitCode: number, oomKilled = false) => ({ state: "exited", exitCode, oomKilled }) as const;
const report = (state: TaskState, message: string, extra: Partial<ControllerAction> = {}) => ({
  kind: "report",
  state,
  message,
  ...extra,
});

// Each row: a name, what differs from `base`, the expected action.
const table: [string, Partial<ControllerInput>, unknown][] = [
  // Forward path to RUNNING.
  ["assigned → accept", {}, report(S.ACCEPTED, "accepted")],
  ["new → accept", { state: S.NEW }, report(S.ACCEPTED, "accepted")],
  ["accepted → preparing", { state: S.ACCEPTED }, report(S.PREPARING, "preparing")],
  ["preparing, no image → pull", { state: S.PREPARING }, { kind: "pull" }],
  [
    "preparing, image → attach network",
    { state: S.PREPARING, imagePresent: true },
    { kind: "attach-network" },
  ],
  [
    "preparing, host network → create",
    { state: S.PREPARING, imagePresent: true, network: "not-needed" },
    { kind: "create" },
  ],
  [
    "preparing, attached → create",
    { state: S.PREPARING, imagePresent: true, network: "attached" },
    { kind: "create" },
  ],
  [
    "preparing, container created → ready",
    { state: S.PREPARING, imagePresent: true, network: "attached", container: created },
    report(S.READY, "prepared"),
  ],
  ["ready → starting", { state: S.READY, container: created }, report(S.STARTING, "starting")],
  [
    "ready, container gone → rejected",
    { state: S.READY },
    report(S.REJECTED, "rejected", { err: "container is gone from the node" }),
  ],
  ["starting, created → start", { state: S.STARTING, container: created }, { kind: "start" }],
  [
    "starting, running, no health check → running",
    { state: S.STARTING, container: running },
    report(S.RUNNING, "started"),
  ],
  [
    "starting, health starting → wait for health",
    { state: S.STARTING, hasHealthcheck: true, container: { state: "running", health: "starting" } },
    { kind: "wait-healthy" },
  ],
  [
    "starting, health not known yet → wait for health",
    { state: S.STARTING, hasHealthcheck: true, container: running },
    { kind: "wait-healthy" },
  ],
  [
    "starting, healthy → running",
    { state: S.STARTING, hasHealthcheck: true, container: { state: "running", health: "healthy" } },
    report(S.RUNNING, "started"),
  ],
  [
    "starting, unhealthy → failed",
    { state: S.STARTING, hasHealthcheck: true, container: { state: "running", health: "unhealthy" } },
    report(S.FAILED, "failed", { err: "container is unhealthy" }),
  ],
  [
    "starting, exited 0 before seen running → complete",
    { state: S.STARTING, container: exited(0) },
    report(S.COMPLETE, "finished", { exitCode: 0 }),
  ],
  [
    "starting, container gone → failed",
    { state: S.STARTING },
    report(S.FAILED, "failed", { err: "container is gone from the node" }),
  ],
  // Running.
  ["running → wait", { state: S.RUNNING, container: running }, { kind: "wait" }],
  [
    "running, exit 0 → complete",
    { state: S.RUNNING, container: exited(0) },
    report(S.COMPLETE, "finished", { exitCode: 0 }),
  ],
  [
    "running, exit 3 → failed",
    { state: S.RUNNING, container: exited(3) },
    report(S.FAILED, "failed", { err: "task: non-zero exit (3)", exitCode: 3 }),
  ],
  [
    "running, OOM → failed saying so",
    { state: S.RUNNING, container: exited(137, true) },
    report(S.FAILED, "failed", { err: "task: non-zero exit (137): OOM killed", exitCode: 137 }),
  ],
  [
    "running, unhealthy → failed",
    { state: S.RUNNING, container: { state: "running", health: "unhealthy" } },
    report(S.FAILED, "failed", { err: "container is unhealthy" }),
  ],
  [
    "running, container gone → failed",
    { state: S.RUNNING },
    report(S.FAILED, "failed", { err: "container is gone from the node" }),
  ],
  [
    "running, only created → failed",
    { state: S.RUNNING, container: created },
    report(S.FAILED, "failed", { err: "container is not running" }),
  ],
  // Never past the desired state.
  ["desired ready: prepares", { state: S.ACCEPTED, desiredState: S.READY }, report(S.PREPARING, "preparing")],
  [
    "desired ready: holds at ready",
    { state: S.READY, desiredState: S.READY, container: created },
    { kind: "idle" },
  ],
  ["desired assigned: does not accept", { desiredState: S.ASSIGNED }, { kind: "idle" }],
  // Failures.
  [
    "permanent pull failure → rejected with the error",
    { state: S.PREPARING, failure: { permanent: true, message: 'image "x" not found', attempts: 1 } },
    report(S.REJECTED, "rejected", { err: 'image "x" not found' }),
  ],
  [
    "transient failure → retry",
    { state: S.PREPARING, failure: { permanent: false, message: "unreachable", attempts: 2 } },
    { kind: "retry", attempt: 2 },
  ],
  [
    "transient failure too often → rejected",
    { state: S.PREPARING, failure: { permanent: false, message: "unreachable", attempts: 5 } },
    report(S.REJECTED, "rejected", { err: "unreachable" }),
  ],
  [
    "start failure (permanent) → failed",
    { state: S.STARTING, container: created, failure: { permanent: true, message: "bad", attempts: 1 } },
    report(S.FAILED, "failed", { err: "bad" }),
  ],
  // Shutdown and removal.
  [
    "shutdown, running → stop",
    { state: S.RUNNING, desiredState: S.SHUTDOWN, container: running },
    { kind: "stop" },
  ],
  [
    "shutdown, stopped → shutdown with exit code",
    { state: S.RUNNING, desiredState: S.SHUTDOWN, container: exited(143) },
    report(S.SHUTDOWN, "shutdown", { exitCode: 143 }),
  ],
  [
    "shutdown before start → shutdown",
    { state: S.PREPARING, desiredState: S.SHUTDOWN },
    report(S.SHUTDOWN, "shutdown"),
  ],
  [
    "shutdown overrides a pending failure's rejection",
    {
      state: S.PREPARING,
      desiredState: S.SHUTDOWN,
      failure: { permanent: false, message: "x", attempts: 1 },
    },
    { kind: "retry", attempt: 1 },
  ],
  [
    "shut down, network attached → detach",
    { state: S.SHUTDOWN, desiredState: S.SHUTDOWN, container: exited(143), network: "attached" },
    { kind: "detach-network" },
  ],
  [
    "shut down, detached → idle (container kept for logs)",
    { state: S.SHUTDOWN, desiredState: S.SHUTDOWN, container: exited(143) },
    { kind: "idle" },
  ],
  [
    "remove, exited container → remove",
    { state: S.SHUTDOWN, desiredState: S.REMOVE, container: exited(0) },
    { kind: "remove" },
  ],
  [
    "remove, running → stop first",
    { state: S.RUNNING, desiredState: S.REMOVE, container: running },
    { kind: "stop" },
  ],
  [
    "remove, container gone, network attached → detach",
    { state: S.SHUTDOWN, desiredState: S.REMOVE, network: "attached" },
    { kind: "detach-network" },
  ],
  ["remove, nothing left → forget", { state: S.COMPLETE, desiredState: S.REMOVE }, { kind: "forget" }],
  [
    "stop failed → retry, never give up",
    {
      state: S.RUNNING,
      desiredState: S.SHUTDOWN,
      container: running,
      failure: { permanent: true, message: "x", attempts: 9 },
    },
    { kind: "retry", attempt: 9 },
  ],
  // Terminal tasks.
  ["complete, desired running → idle", { state: S.COMPLETE, container: exited(0) }, { kind: "idle" }],
  ["failed (unhealthy), still running → stop", { state: S.FAILED, container: running }, { kind: "stop" }],
  ["rejected, created container → remove", { state: S.REJECTED, container: created }, { kind: "remove" }],
  [
    "failed, network attached → detach",
    { state: S.FAILED, container: exited(1), network: "attached" },
    { kind: "detach-network" },
  ],
];

describe("nextAction", () => {
  it.each(table)("%s", (_name, input, expected) => {
    expect(nextAction({ ...base, ...input })).toEqual(expected);
  });

  it("walks a task from ASSIGNED to RUNNING and, on shutdown, to nothing left", () => {
    // A tiny simulated world: each action's effect applied to the input, as the shell would.
    let input: ControllerInput = { ...base };
    const seen: string[] = [];
    const apply = (a: ControllerAction): void => {
      seen.push(
        a.kind === "report" ? `report ${taskStateToJSON(a.state).replace("TASK_STATE_", "")}` : a.kind,
      );
      if (a.kind === "report") input = { ...input, state: a.state };
      else if (a.kind === "pull") input = { ...input, imagePresent: true };
      else if (a.kind === "attach-network") input = { ...input, network: "attached" };
      else if (a.kind === "create") input = { ...input, container: created };
      else if (a.kind === "start") input = { ...input, container: running };
      else if (a.kind === "stop") input = { ...input, container: exited(143) };
      else if (a.kind === "remove") input = { ...input, container: undefined };
      else if (a.kind === "detach-network") input = { ...input, network: "detached" };
    };
    for (let i = 0; i < 20; i++) {
      const a = nextAction(input);
      if (a.kind === "wait" || a.kind === "forget") {
        seen.push(a.kind);
        if (a.kind === "forget") break;
        input = { ...input, desiredState: S.REMOVE };
        continue;
      }
      apply(a);
    }
    expect(seen).toEqual([
      "report ACCEPTED",
      "report PREPARING",
      "pull",
      "attach-network",
      "create",
      "report READY",
      "report STARTING",
      "start",
      "report RUNNING",
      "wait",
      "stop",
      "report SHUTDOWN",
      "remove",
      "detach-network",
      "forget",
    ]);
  });
});
