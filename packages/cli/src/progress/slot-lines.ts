import { enumValueName, type Task, TaskState } from "@shoal/proto";

const BAR_WIDTH = 50;
/** During an update a slot's line holds the old task and the new one, so its bar is shorter. */
const UPDATE_BAR_WIDTH = 20;

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

export function stateName(state: TaskState): string {
  return enumValueName(TaskState, state);
}

function bar(state: TaskState, width: number): string {
  const at = state === TaskState.COMPLETE ? PROGRESS_STATES.length - 1 : PROGRESS_STATES.indexOf(state);
  const filled = at < 0 ? 0 : Math.round((at / (PROGRESS_STATES.length - 1)) * width);
  if (filled >= width) return `[${"=".repeat(width - 1)}>]`;
  return `[${"=".repeat(filled)}>${" ".repeat(width - filled - 1)}]`;
}

export function taskError(task: Task): string {
  const status = task.status;
  if (status === undefined) return "";
  return status.err !== "" ? status.err : status.state > TaskState.RUNNING ? status.message : "";
}

function observed(task: Task | undefined): TaskState {
  return task?.status?.state ?? TaskState.NEW;
}

/** `running   [====>]`, or the task's error in place of the bar. */
function progressOf(task: Task, width: number): string {
  const s = observed(task);
  const err = taskError(task);
  return `${stateName(s).padEnd(9)} ${err !== "" ? err : bar(s, width)}`;
}

/** docker's line for a slot: `1/3: running   [=====>   ]`. */
export function plainLine(label: string, task: Task): string {
  return `${label} ${progressOf(task, BAR_WIDTH)}`.trimEnd();
}

/** One slot during a rolling update: the task it had and the task that replaces it. */
export interface SlotMove {
  /** The task of another spec the slot ran when the wait began (or still runs). */
  old: Task | undefined;
  /** The newest task of the target spec meant to run. */
  fresh: Task | undefined;
  /** The fresh task is up and its monitor window has this long left (manager's verify). */
  verifyLeftMs?: number | undefined;
}

/**
 * A slot moving from old to new, one line:
 *   `1/2: old running   → new starting  [==============>     ]`
 *   `1/2: old shutdown  → new running   [===================>] verify 3 s`
 *   `2/2: old running   → waiting`
 * A slot with no old task (created during the update) shows its new task alone.
 */
export function moveLine(label: string, move: SlotMove): string {
  const oldPart = move.old === undefined ? "" : `old ${stateName(observed(move.old)).padEnd(9)} → `;
  if (move.fresh === undefined) return `${label} ${oldPart}waiting`;
  const verify =
    move.verifyLeftMs !== undefined && move.verifyLeftMs > 0
      ? ` verify ${Math.ceil(move.verifyLeftMs / 1000)} s`
      : "";
  return `${label} ${oldPart}new ${progressOf(move.fresh, UPDATE_BAR_WIDTH)}${verify}`.trimEnd();
}
