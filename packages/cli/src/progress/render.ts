import { type Service, ServiceDefaults, type Task, TaskSpec, TaskState, UpdateState } from "@shoal/proto";
import { moveLine, plainLine, type SlotMove, stateName, taskError } from "./slot-lines.js";

/** Docker shows one line per task up to this many; above it only the overall line. */
export const MAX_TASK_LINES = 20;
/** Docker's verify window when the service's update config sets no monitor period. */
export const DEFAULT_VERIFY_MS = ServiceDefaults.update.monitorMs;
/** A slot whose tasks failed this many times since the wait began makes the wait fail. */
export const MAX_FAILURES_PER_SLOT = 3;

/** What the loop keeps between polls. */
export interface ProgressState {
  startedAtMs: number;
  /** Since when every task runs (the CLI's own verify window). */
  allDoneSinceMs?: number | undefined;
  /** Per slot, the task of another spec it ran while the wait went on: the "old" of its move. */
  replaced?: Readonly<Record<string, string>> | undefined;
}

export type ProgressOutcome =
  | { kind: "waiting" }
  | { kind: "converged" }
  | { kind: "failed"; reason: string; taskErrors: string[]; hint?: string | undefined };

export interface ProgressFrame {
  state: ProgressState;
  lines: string[];
  outcome: ProgressOutcome;
}

export interface ProgressInput {
  service: Service;
  tasks: readonly Task[];
  /** From ListServiceStatuses: how many tasks the service should run (replicas, eligible nodes). */
  desiredTasks: number;
  nowMs: number;
  /** The user asked for the rollback (`service rollback`): rolling back is the goal, not a failure. */
  rollback?: boolean | undefined;
}

function isJob(service: Service): boolean {
  const mode = service.spec?.mode?.$case;
  return mode === "replicatedJob" || mode === "globalJob";
}

function isGlobal(service: Service): boolean {
  const mode = service.spec?.mode?.$case;
  return mode === "global" || mode === "globalJob";
}

/** The monitor window of the roll in progress: the rollback config's while rolling back. */
function verifyMs(service: Service): number {
  const state = service.updateStatus?.state;
  const rollingBack = state === UpdateState.ROLLBACK_STARTED || state === UpdateState.ROLLBACK_COMPLETED;
  const config = rollingBack ? service.spec?.rollbackConfig : service.spec?.updateConfig;
  return config?.monitorMs ?? DEFAULT_VERIFY_MS;
}

function taskTime(task: Task): number {
  return task.status?.timestampMs ?? task.meta?.createdAtMs ?? 0;
}

/** The key a task's line is shown under: its slot (replicated) or its node (global). */
function slotKey(service: Service, task: Task): string {
  return isGlobal(service) ? task.nodeId : String(task.slot);
}

const ROLLING: ReadonlySet<UpdateState | undefined> = new Set([
  UpdateState.UPDATING,
  UpdateState.ROLLBACK_STARTED,
]);
const PAUSED: ReadonlySet<UpdateState | undefined> = new Set([
  UpdateState.PAUSED,
  UpdateState.ROLLBACK_PAUSED,
]);

/**
 * One frame of `service create/update/scale/rollback` progress, as a pure function of what the
 * manager reports (docker's `progress.go` in spirit): `overall progress: R out of N tasks`, then
 * per slot (or per node for global services) its task — or, during a rolling update, the task it
 * had and the one replacing it (`old running → new starting [===> ]`, with each new task's
 * monitor window). While the manager rolls, the verify window is the manager's own (the last
 * monitor window before it reports the update completed); otherwise, once every task runs, the
 * CLI waits the update monitor period (5 s by default) in which nothing may fail. The wait fails
 * when the update pauses or was rolled back (once the rollback is done, with the manager's reason
 * naming the failed tasks), or, outside an update, when a slot's tasks of the current spec
 * failed MAX_FAILURES_PER_SLOT times. A task counts as done only when it runs the current spec.
 */
export function progressFrame(state: ProgressState, input: ProgressInput): ProgressFrame {
  const { service, tasks, nowMs } = input;
  const job = isJob(service);
  const doneState = job ? TaskState.COMPLETE : TaskState.RUNNING;
  const current = tasks.filter((t) => t.serviceId === service.id);
  const template = JSON.stringify(
    service.spec?.taskTemplate === undefined ? null : TaskSpec.toJSON(service.spec.taskTemplate),
  );
  // A task runs the current spec when it was made for this spec version or its task spec is the
  // service's template (scaling bumps the version but keeps the tasks, as swarmkit's dirty check).
  const upToDate = (t: Task) =>
    (service.specVersion !== 0 && t.specVersion >= service.specVersion) ||
    JSON.stringify(t.spec === undefined ? null : TaskSpec.toJSON(t.spec)) === template;
  // Per slot: the newest task meant to run, the newest of the current spec, and the failures.
  const bySlot = new Map<string, Task>();
  const freshBySlot = new Map<string, Task>();
  const failures = new Map<string, Task[]>();
  const replaced: Record<string, string> = { ...state.replaced };
  for (const task of current) {
    const key = slotKey(service, task);
    const taskState = task.status?.state ?? TaskState.NEW;
    const isCurrent = upToDate(task);
    // Failures of an earlier spec do not count.
    if ((taskState === TaskState.FAILED || taskState === TaskState.REJECTED) && isCurrent) {
      failures.set(key, [...(failures.get(key) ?? []), task]);
    }
    // A task of another spec that has not ended yet is the old side of its slot's move.
    if (!isCurrent && taskState <= TaskState.RUNNING && replaced[key] === undefined) replaced[key] = task.id;
    if (task.desiredState > doneState) continue;
    const seen = bySlot.get(key);
    if (seen === undefined || taskTime(task) > taskTime(seen)) bySlot.set(key, task);
    const fresh = freshBySlot.get(key);
    if (isCurrent && (fresh === undefined || taskTime(task) > taskTime(fresh))) freshBySlot.set(key, task);
  }
  const update = service.updateStatus?.state;
  const rolling = ROLLING.has(update);
  const moving = rolling || PAUSED.has(update) || Object.keys(replaced).length > 0;
  const keys = new Set([...bySlot.keys(), ...(moving ? Object.keys(replaced) : [])]);
  const slots = [...keys].sort((a, b) => (isGlobal(service) ? a.localeCompare(b) : Number(a) - Number(b)));
  const total = Math.max(input.desiredTasks, slots.length);
  const isDone = (t: Task | undefined) => t !== undefined && t.status?.state === doneState && upToDate(t);
  const done = slots.filter((key) => isDone(moving ? freshBySlot.get(key) : bySlot.get(key))).length;
  const monitorMs = verifyMs(service);
  const byId = new Map(current.map((t) => [t.id, t]));

  const lines = [`overall progress: ${done} out of ${total} tasks`];
  if (total <= MAX_TASK_LINES) {
    const labels = slots.map((key) => (isGlobal(service) ? key.slice(0, 12) : `${key}/${total}`));
    const width = Math.max(0, ...labels.map((l) => l.length));
    slots.forEach((key, i) => {
      const label = `${labels[i] ?? ""}:`.padEnd(width + 1);
      if (!moving) {
        const task = bySlot.get(key);
        if (task !== undefined) lines.push(plainLine(label, task));
        return;
      }
      const fresh = freshBySlot.get(key);
      const upAtMs = fresh?.upAtMs ?? 0;
      const move: SlotMove = {
        old: byId.get(replaced[key] ?? ""),
        fresh,
        verifyLeftMs: rolling && upAtMs > 0 ? upAtMs + monitorMs - nowMs : undefined,
      };
      lines.push(moveLine(label, move));
    });
  }
  const next: ProgressState = { startedAtMs: state.startedAtMs, replaced };

  const asked = input.rollback === true;
  const message = service.updateStatus?.message ?? "";
  if (PAUSED.has(update)) {
    const what = update === UpdateState.PAUSED ? "update paused" : "rollback paused";
    return failed(next, lines, `${what}${message === "" ? "" : `: ${message}`}`, failures, {
      hint: `fix the service and run \`shoal service update\` again${update === UpdateState.PAUSED ? ", or `shoal service rollback`" : ""}`,
    });
  }
  if (update === UpdateState.ROLLBACK_COMPLETED && !asked) {
    // docker/cli#373: an update that was rolled back is a failure, whatever state it left.
    return failed(next, lines, `update rolled back${message === "" ? "" : `: ${message}`}`, failures, {
      hint: "the service runs its previous spec again; `shoal service inspect` shows its update status",
    });
  }
  if (update === UpdateState.ROLLBACK_STARTED && !asked) lines.push(`rollback: ${message || "rolling back"}`);
  if (!rolling) {
    // While the manager rolls, its failure action decides (and names the tasks); only then does a
    // slot that keeps failing end the wait.
    const worst = [...failures.values()].find((list) => list.length >= MAX_FAILURES_PER_SLOT);
    if (worst !== undefined) return failed(next, lines, `tasks failed ${worst.length} times`, failures);
  }

  const allDone = total > 0 && done === total && slots.length === total;
  if (rolling) {
    // The manager's last monitor window: it reports the roll completed once it passed.
    if (allDone) {
      const lastUpAtMs = Math.max(0, ...slots.map((key) => freshBySlot.get(key)?.upAtMs ?? 0));
      const leftMs = lastUpAtMs > 0 ? lastUpAtMs + monitorMs - nowMs : monitorMs;
      lines.push(
        `verify: Waiting ${Math.max(1, Math.ceil(leftMs / 1000))} seconds to verify that tasks are stable...`,
      );
    }
    return { state: next, lines, outcome: { kind: "waiting" } };
  }
  if (!allDone) return { state: next, lines, outcome: { kind: "waiting" } };
  if (job) {
    lines.push("job complete");
    return { state: next, lines, outcome: { kind: "converged" } };
  }
  if (update === UpdateState.COMPLETED || update === UpdateState.ROLLBACK_COMPLETED) {
    // The manager watched the new tasks for the monitor window before it said completed.
    lines.push("verify: Service converged");
    return { state: next, lines, outcome: { kind: "converged" } };
  }
  const since = state.allDoneSinceMs ?? nowMs;
  // A task that failed inside the window means it is not stable yet: start the window again.
  const recentFailure = current.some(
    (t) =>
      (t.status?.state === TaskState.FAILED || t.status?.state === TaskState.REJECTED) &&
      taskTime(t) >= since,
  );
  if (recentFailure)
    return { state: { ...next, allDoneSinceMs: nowMs }, lines, outcome: { kind: "waiting" } };
  const leftMs = since + monitorMs - nowMs;
  if (leftMs > 0) {
    lines.push(`verify: Waiting ${Math.ceil(leftMs / 1000)} seconds to verify that tasks are stable...`);
    return { state: { ...next, allDoneSinceMs: since }, lines, outcome: { kind: "waiting" } };
  }
  lines.push("verify: Service converged");
  return { state: { ...next, allDoneSinceMs: since }, lines, outcome: { kind: "converged" } };
}

function failed(
  state: ProgressState,
  lines: string[],
  reason: string,
  failures: Map<string, Task[]>,
  options: { hint?: string } = {},
): ProgressFrame {
  const taskErrors: string[] = [];
  for (const list of failures.values()) {
    for (const task of list) {
      const err = taskError(task);
      taskErrors.push(
        `${task.name !== "" ? task.name : task.id}: ${stateName(task.status?.state ?? TaskState.NEW)}${err === "" ? "" : `: ${err}`}`,
      );
    }
  }
  return { state, lines, outcome: { kind: "failed", reason, taskErrors, hint: options.hint } };
}
