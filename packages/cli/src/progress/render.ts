import { enumValueName, type Service, type Task, TaskSpec, TaskState, UpdateState } from "@shoal/proto";

/** Docker shows one line per task up to this many; above it only the overall line. */
export const MAX_TASK_LINES = 20;
/** Docker's verify window when the service's update config sets no monitor period. */
export const DEFAULT_VERIFY_MS = 5_000;
/** A slot whose tasks failed this many times since the wait began makes the wait fail. */
export const MAX_FAILURES_PER_SLOT = 3;
const BAR_WIDTH = 50;

/** What the loop keeps between polls: when it started and since when every task runs. */
export interface ProgressState {
  startedAtMs: number;
  allDoneSinceMs?: number | undefined;
}

export type ProgressOutcome =
  | { kind: "waiting" }
  | { kind: "converged" }
  | { kind: "failed"; reason: string; taskErrors: string[] };

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

/** The order docker's bars follow: how far a task is on its way to running. */
const PROGRESS_STATES: readonly TaskState[] = [
  TaskState.NEW,
  TaskState.PENDING,
  TaskState.ASSIGNED,
  TaskState.ACCEPTED,
  TaskState.PREPARING,
  TaskState.READY,
  TaskState.STARTING,
  TaskState.RUNNING,
];

function isJob(service: Service): boolean {
  const mode = service.spec?.mode?.$case;
  return mode === "replicatedJob" || mode === "globalJob";
}

function isGlobal(service: Service): boolean {
  const mode = service.spec?.mode?.$case;
  return mode === "global" || mode === "globalJob";
}

function verifyMs(service: Service): number {
  return service.spec?.updateConfig?.monitorMs ?? DEFAULT_VERIFY_MS;
}

function stateName(state: TaskState): string {
  return enumValueName(TaskState, state);
}

function bar(state: TaskState): string {
  const at = state === TaskState.COMPLETE ? PROGRESS_STATES.length - 1 : PROGRESS_STATES.indexOf(state);
  const filled = at < 0 ? 0 : Math.round((at / (PROGRESS_STATES.length - 1)) * BAR_WIDTH);
  if (filled >= BAR_WIDTH) return `[${"=".repeat(BAR_WIDTH - 1)}>]`;
  return `[${"=".repeat(filled)}>${" ".repeat(BAR_WIDTH - filled - 1)}]`;
}

function taskTime(task: Task): number {
  return task.status?.timestampMs ?? task.meta?.createdAtMs ?? 0;
}

/** The key a task's line is shown under: its slot (replicated) or its node (global). */
function slotKey(service: Service, task: Task): string {
  return isGlobal(service) ? task.nodeId : String(task.slot);
}

function taskError(task: Task): string {
  const status = task.status;
  if (status === undefined) return "";
  return status.err !== "" ? status.err : status.state > TaskState.RUNNING ? status.message : "";
}

/**
 * One frame of `service create/update/scale` progress, as a pure function of what the manager
 * reports (docker's `progress.go` in spirit): per slot (or per node for global services) the newest
 * task meant to run; `overall progress: R out of N tasks`; once all run, a verify window of the
 * service's update monitor period (5 s by default) in which nothing may fail. The wait fails when
 * the service's update pauses or rolls back, or a slot's tasks of the current spec failed
 * MAX_FAILURES_PER_SLOT times. A task counts as done only when it runs the current spec.
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
  // The newest task meant to run per slot, and the failures per slot.
  const bySlot = new Map<string, Task>();
  const failures = new Map<string, Task[]>();
  for (const task of current) {
    const key = slotKey(service, task);
    const taskState = task.status?.state ?? TaskState.NEW;
    // Failures of an earlier spec do not count.
    if ((taskState === TaskState.FAILED || taskState === TaskState.REJECTED) && upToDate(task)) {
      failures.set(key, [...(failures.get(key) ?? []), task]);
    }
    if (task.desiredState > doneState) continue;
    const seen = bySlot.get(key);
    if (seen === undefined || taskTime(task) > taskTime(seen)) bySlot.set(key, task);
  }
  const slots = [...bySlot.entries()].sort(([a], [b]) =>
    isGlobal(service) ? a.localeCompare(b) : Number(a) - Number(b),
  );
  const total = Math.max(input.desiredTasks, slots.length);
  const done = slots.filter(([, t]) => t.status?.state === doneState && upToDate(t)).length;

  const lines = [`overall progress: ${done} out of ${total} tasks`];
  if (total <= MAX_TASK_LINES) {
    const labels = slots.map(([key]) => (isGlobal(service) ? key.slice(0, 12) : `${key}/${total}`));
    const width = Math.max(0, ...labels.map((l) => l.length));
    slots.forEach(([, task], i) => {
      const s = task.status?.state ?? TaskState.NEW;
      const err = taskError(task);
      const label = `${labels[i] ?? ""}:`.padEnd(width + 1);
      lines.push(`${label} ${stateName(s).padEnd(9)} ${err !== "" ? err : bar(s)}`.trimEnd());
    });
  }

  const update = service.updateStatus?.state;
  const asked = input.rollback === true;
  const rolledBack = update === UpdateState.ROLLBACK_STARTED || update === UpdateState.ROLLBACK_COMPLETED;
  if (update === UpdateState.PAUSED || update === UpdateState.ROLLBACK_PAUSED || (rolledBack && !asked)) {
    const what =
      update === UpdateState.PAUSED
        ? "update paused"
        : update === UpdateState.ROLLBACK_PAUSED
          ? "rollback paused"
          : "update rolled back";
    const message = service.updateStatus?.message ?? "";
    return failed(state, lines, `${what}${message === "" ? "" : `: ${message}`}`, failures);
  }
  const worst = [...failures.values()].find((list) => list.length >= MAX_FAILURES_PER_SLOT);
  if (worst !== undefined) {
    return failed(state, lines, `tasks failed ${worst.length} times`, failures);
  }

  // While the manager is still rolling the update out, old tasks may all run: not converged yet.
  const rolling = update === UpdateState.UPDATING || update === UpdateState.ROLLBACK_STARTED;
  const allDone = !rolling && total > 0 && done === total && slots.length === total;
  if (!allDone) return { state: { startedAtMs: state.startedAtMs }, lines, outcome: { kind: "waiting" } };
  if (job) {
    lines.push("job complete");
    return { state, lines, outcome: { kind: "converged" } };
  }
  const since = state.allDoneSinceMs ?? nowMs;
  const next = { startedAtMs: state.startedAtMs, allDoneSinceMs: since };
  // A task that failed inside the window means it is not stable yet: start the window again.
  const recentFailure = current.some(
    (t) =>
      (t.status?.state === TaskState.FAILED || t.status?.state === TaskState.REJECTED) &&
      taskTime(t) >= since,
  );
  if (recentFailure)
    return {
      state: { startedAtMs: state.startedAtMs, allDoneSinceMs: nowMs },
      lines,
      outcome: { kind: "waiting" },
    };
  const leftMs = since + verifyMs(service) - nowMs;
  if (leftMs > 0) {
    lines.push(`verify: Waiting ${Math.ceil(leftMs / 1000)} seconds to verify that tasks are stable...`);
    return { state: next, lines, outcome: { kind: "waiting" } };
  }
  lines.push("verify: Service converged");
  return { state: next, lines, outcome: { kind: "converged" } };
}

function failed(
  state: ProgressState,
  lines: string[],
  reason: string,
  failures: Map<string, Task[]>,
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
  return { state, lines, outcome: { kind: "failed", reason, taskErrors } };
}
