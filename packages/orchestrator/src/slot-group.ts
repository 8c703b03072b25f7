import { type Node, type Service, type Task, TaskState } from "@shoal/proto";
import { newTask } from "./new-task.js";
import type { PlanBuilder } from "./plan.js";
import { decideRestart } from "./restart.js";
import {
  hasEnded,
  isLive,
  isStartFirst,
  newestFirst,
  observedState,
  occupiesSlot,
  withDesiredState,
} from "./task-facts.js";
import { isTaskDirty } from "./update/spec-diff.js";
import { isUp } from "./update/task-health.js";
import type { ReconcileContext } from "./view.js";

/**
 * The tasks of one slot (replicated services and jobs) or of one node (global services and jobs):
 * the unit in which Swarm keeps "at most one task running". `tendGroup` applies the restart
 * supervisor and the stop-first rule to a group; the mode's reconciler decides whether a group
 * that holds no live task gets a new one (`fillGroup`).
 */
export interface GroupScope {
  service: Service;
  nodes: ReadonlyMap<string, Node>;
  ctx: ReconcileContext;
  out: PlanBuilder;
  isJob: boolean;
  jobIteration?: number | undefined;
}

export interface GroupKey {
  slot: number;
  nodeId: string;
  /** Why a new task may not be created here now (a paused node), or undefined when it may. */
  blockedReason?: string | undefined;
}

export interface GroupState {
  /** Tasks the managers still want (desired READY or RUNNING), after this pass. */
  live: Task[];
  /** A job task of the current iteration completed here. */
  completed: boolean;
  /** Every task of the group after this pass, newest first. */
  tasks: Task[];
}

export function tendGroup(scope: GroupScope, key: GroupKey, group: readonly Task[]): GroupState {
  let tasks = [...group].sort(newestFirst);
  const replace = (t: Task) => {
    tasks = tasks.map((x) => (x.id === t.id ? t : x));
  };
  let completed = false;
  for (const t of tasks.filter(isLive)) {
    if (!hasEnded(t)) continue;
    if (scope.isJob && observedState(t) === TaskState.COMPLETE) {
      completed = true;
      continue;
    }
    const decision = decideRestart(t, scope.ctx.nowMs, scope.isJob);
    if (decision.kind === "hold") {
      scope.out.note(`${where(key)}: ${decision.reason}`);
      if (decision.retryAtMs !== undefined)
        scope.out.wakeAt(decision.retryAtMs, `${where(key)}: restart window`);
      continue;
    }
    if (key.blockedReason !== undefined) {
      scope.out.note(`${where(key)}: ${decision.reason}, but waits: ${key.blockedReason}`);
      continue;
    }
    const old = withDesiredState(t, TaskState.SHUTDOWN);
    scope.out.updateTask(old, `${decision.reason} (replaced)`);
    replace(old);
    const created = makeTask(scope, key, tasks, decision.restartAtMs, decision.restartHistoryMs);
    scope.out.createTask(created, `${where(key)}: ${decision.reason}`);
    tasks = [created, ...tasks];
  }
  const live = tasks.filter(isLive);
  // At most one live task per group: the newest that has not ended, preferring one of the
  // service's current spec (a rollback keeps the old tasks, not the update's), else the newest.
  const running = live.filter((t) => !hasEnded(t));
  const template = scope.service.spec?.taskTemplate;
  const keep =
    (running.length > 1 ? running.find((t) => !isTaskDirty(t, template)) : undefined) ??
    running[0] ??
    live[0];
  // Start-first: the task an update replaces runs on until its replacement is up (running, and
  // healthy when it has a health check); the updater stops it then.
  const bridge =
    keep !== undefined && isStartFirst(scope.service) && !isUp(keep)
      ? live.find((t) => t.id !== keep.id && isUp(t))
      : undefined;
  for (const t of live) {
    if (keep === undefined || t.id === keep.id || t.id === bridge?.id) continue;
    const stopped = withDesiredState(t, TaskState.SHUTDOWN);
    scope.out.updateTask(stopped, `${where(key)}: superseded by task ${keep.id}`);
    replace(stopped);
  }
  for (const t of tasks) {
    if (t.desiredState !== TaskState.READY || hasEnded(t)) continue;
    const promoted = maybePromote(scope, key, t, tasks);
    if (promoted !== undefined) replace(promoted);
  }
  return { live: tasks.filter(isLive), completed, tasks };
}

/** Raises a READY replacement to RUNNING once its delay has passed and the slot is free. */
function maybePromote(scope: GroupScope, key: GroupKey, t: Task, tasks: readonly Task[]): Task | undefined {
  if (t.restartAtMs > scope.ctx.nowMs) {
    scope.out.wakeAt(t.restartAtMs, `${where(key)}: restart delay of task ${t.id}`);
    return undefined;
  }
  const holder = tasks.find((o) => o.id !== t.id && occupiesSlot(o, scope.nodes));
  if (holder !== undefined && !isStartFirst(scope.service)) return undefined; // stop-first
  const promoted = withDesiredState(t, TaskState.RUNNING);
  scope.out.updateTask(
    promoted,
    `${where(key)}: start (${holder === undefined ? "slot free" : "start-first"})`,
  );
  return promoted;
}

/**
 * Creates the group's task: at once, keeping the group's restart history. `others` are tasks of
 * the same place outside the group (an earlier job iteration's) that it must wait for too.
 */
export function fillGroup(
  scope: GroupScope,
  key: GroupKey,
  group: readonly Task[],
  reason: string,
  others: readonly Task[] = [],
): Task {
  const tasks = [...group].sort(newestFirst);
  const created = makeTask(
    scope,
    key,
    [...tasks, ...others],
    scope.ctx.nowMs,
    tasks[0]?.restartHistoryMs ?? [],
  );
  scope.out.createTask(created, `${where(key)}: ${reason}`);
  return created;
}

function makeTask(
  scope: GroupScope,
  key: GroupKey,
  tasks: readonly Task[],
  restartAtMs: number,
  restartHistoryMs: readonly number[],
): Task {
  const waits =
    restartAtMs > scope.ctx.nowMs ||
    (!isStartFirst(scope.service) && tasks.some((o) => occupiesSlot(o, scope.nodes)));
  return newTask(scope.service, {
    id: scope.ctx.newTaskId(),
    nowMs: scope.ctx.nowMs,
    slot: key.slot,
    nodeId: key.nodeId,
    desiredState: waits ? TaskState.READY : TaskState.RUNNING,
    restartAtMs,
    restartHistoryMs,
    jobIteration: scope.jobIteration,
  });
}

export function where(key: GroupKey): string {
  return key.slot > 0 ? `slot ${key.slot}` : `node ${key.nodeId}`;
}

/** Shuts down every live task of a group, with the reason. */
export function shutDownGroup(scope: Pick<GroupScope, "out">, tasks: readonly Task[], reason: string): void {
  for (const t of tasks) if (isLive(t)) scope.out.updateTask(withDesiredState(t, TaskState.SHUTDOWN), reason);
}
