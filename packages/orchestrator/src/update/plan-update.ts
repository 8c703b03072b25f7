import {
  type Node,
  type Service,
  type Task,
  type TaskSpec,
  TaskState,
  UpdateFailureAction,
  UpdateOrder,
  UpdateState,
} from "@shoal/proto";
import { newTask } from "../new-task.js";
import { type Plan, PlanBuilder } from "../plan.js";
import {
  hasEnded,
  isLive,
  newestFirst,
  observedState,
  occupiesSlot,
  withDesiredState,
} from "../task-facts.js";
import type { ReconcileContext } from "../view.js";
import { countFailures, describeFailures, type UpdateFailure } from "./failures.js";
import { isTaskDirty } from "./spec-diff.js";
import { isUp } from "./task-health.js";
import { type EffectiveUpdateConfig, effectiveUpdateConfig, isRollingBack } from "./update-config.js";

export interface UpdateInput {
  service: Service;
  /** Every task of the service, any state. */
  tasks: readonly Task[];
  nodes: ReadonlyMap<string, Node>;
}

/** One slot (replicated) or node (global) as the updater sees it. */
interface Group {
  slot: number;
  nodeId: string;
  /** Live tasks made from another spec than the target, newest first. */
  dirty: Task[];
  /** The newest live task of the target spec, if any. */
  clean: Task | undefined;
}

const ACTIVE: ReadonlySet<UpdateState> = new Set([UpdateState.UPDATING, UpdateState.ROLLBACK_STARTED]);

/**
 * The rolling updater's decision for one service (swarmkit's `update.Updater`, as a pure function
 * of the store): replace the tasks whose spec differs from the service's, `parallelism` slots at a
 * time, waiting `delay` after each slot is up, stop-first or start-first; count the tasks of this
 * update that fail (or are not up and healthy) within `monitor` of coming up, and once more than
 * `maxFailureRatio` of the update's slots failed, apply `failureAction`. Every fact it needs is in
 * the store — the update status on the service, the specs and `upAtMs` on the tasks — so a new
 * leader resumes where the old one was. Only slots whose spec differs are touched: a scale change
 * alone updates nothing; the replicated orchestrator fills and empties slots, this replaces them.
 */
export function planServiceUpdate(input: UpdateInput, ctx: ReconcileContext): Plan {
  const out = new PlanBuilder();
  let { service } = input;
  const spec = service.spec;
  const mode = spec?.mode?.$case;
  if (spec === undefined || service.pendingDelete || mode === "replicatedJob" || mode === "globalJob")
    return out.plan; // jobs start a new iteration instead of rolling
  const template = spec.taskTemplate;
  const state = service.updateStatus?.state ?? UpdateState.UNKNOWN;
  const groups = groupsOf(input.tasks, mode === "global", template);
  const anyDirty = groups.some((g) => g.dirty.length > 0);
  const name = spec.name || service.id;
  if (state === UpdateState.PAUSED || state === UpdateState.ROLLBACK_PAUSED) {
    if (anyDirty) out.note(`service "${name}": ${rollName(service)} paused; waits for a new update`);
    return out.plan;
  }
  if (!ACTIVE.has(state) || (service.updateStatus?.startedAtMs ?? 0) === 0) {
    // A roll starts when a slot's spec differs (a rollback the control API asked for is already
    // ROLLBACK_STARTED, and only needs its start time).
    if (!anyDirty && !ACTIVE.has(state)) return out.plan;
    service = withStatus(service, {
      state: ACTIVE.has(state) ? state : UpdateState.UPDATING,
      startedAtMs: ctx.nowMs,
      completedAtMs: 0,
      message:
        ACTIVE.has(state) && service.updateStatus?.message
          ? service.updateStatus.message
          : "update in progress",
    });
    out.updateService(
      service,
      `service "${name}": ${isRollingBack(service) ? "rollback" : "update"} started`,
    );
    // The first batch goes in the same commit (a pass and a commit sooner, counted from this
    // start); with nothing to replace, the next pass completes the roll.
    if (!anyDirty) return out.plan;
  }
  const startedAtMs = service.updateStatus?.startedAtMs ?? 0;
  const cfg = effectiveUpdateConfig(service);
  const ofThisRoll = (t: Task) => (t.meta?.createdAtMs ?? 0) >= startedAtMs && !isTaskDirty(t, template);

  recordUpTimes(input.tasks, ofThisRoll, ctx, out);

  const failures = countFailures(input.tasks, ofThisRoll, cfg.monitorMs, ctx.nowMs, out);
  const rollSlots = Math.max(
    1,
    groups.filter((g) => g.dirty.length > 0 || (g.clean !== undefined && ofThisRoll(g.clean))).length,
  );
  const global = mode === "global";
  // Failed slots, not failed tasks, count against the ratio: swarmkit counts the tasks it created,
  // one per slot, so a slot whose task crash-loops counts once, not once per restart.
  const failedGroups = new Set(failures.map((f) => groupKey(f.slot, f.nodeId, global)));
  if (
    failedGroups.size > 0 &&
    failedGroups.size / rollSlots > cfg.maxFailureRatio &&
    cfg.failureAction !== UpdateFailureAction.CONTINUE
  ) {
    applyFailureAction(service, cfg, failures, ctx, out);
    return out.plan;
  }

  const startFirst = cfg.order === UpdateOrder.START_FIRST;
  let busy = 0;
  const candidates: Group[] = [];
  let lastUpAtMs = 0;
  for (const g of groups) {
    const clean = g.clean;
    const cleanUp = clean !== undefined && isUp(clean);
    // Busy: the slot's new task is on its way up (not running yet, or not yet healthy). A slot
    // whose task of this roll failed is done, as swarmkit's worker is once the task is past
    // RUNNING: the failure counts against the ratio instead, and the restart supervisor retries it
    // (an ended task is the supervisor's too).
    if (
      clean !== undefined &&
      !cleanUp &&
      !hasEnded(clean) &&
      !failedGroups.has(groupKey(g.slot, clean.nodeId, global))
    )
      busy++;
    if (g.dirty.length === 0 || (clean !== undefined && !startFirst)) {
      if (g.dirty.length > 0) shutDown(g.dirty, out, `${where(g)}: replaced by task ${clean?.id}`);
    } else if (clean === undefined) {
      candidates.push(g);
    } else if (cleanUp) {
      // Start-first: the replacement is up, so the task it replaces stops now.
      shutDown(g.dirty, out, `${where(g)}: start-first, task ${clean.id} is up`);
    } else if (failedGroups.has(groupKey(g.slot, clean.nodeId, global))) {
      // The replacement failed and the roll goes on (under the ratio, or continue): the slot
      // moves to the new spec, as swarmkit's next pass over a slot of two tasks does.
      shutDown(g.dirty, out, `${where(g)}: the update goes on past the failure of task ${clean.id}`);
    }
    // A failed slot is done: its restarts neither delay the next slot nor the end of the roll.
    if (
      clean !== undefined &&
      cleanUp &&
      ofThisRoll(clean) &&
      !failedGroups.has(groupKey(g.slot, clean.nodeId, global))
    ) {
      const upAtMs = clean.upAtMs || ctx.nowMs;
      lastUpAtMs = Math.max(lastUpAtMs, upAtMs);
      // Each of `parallelism` workers waits `delay` after its slot came up (swarmkit's worker).
      if (cfg.delayMs > 0 && upAtMs + cfg.delayMs > ctx.nowMs) {
        busy++;
        out.wakeAt(upAtMs + cfg.delayMs, `service "${name}": update delay after ${where(g)}`);
      }
    }
  }

  const free = cfg.parallelism === 0 ? candidates.length : Math.max(0, cfg.parallelism - busy);
  // Slots whose task is not running cost no capacity: they go first, then by slot (or node).
  candidates.sort(
    (a, b) =>
      Number(a.dirty.some(isRunning)) - Number(b.dirty.some(isRunning)) ||
      a.slot - b.slot ||
      (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0),
  );
  for (const g of candidates.slice(0, free)) replaceGroup(service, g, startFirst, input.nodes, ctx, out);
  if (candidates.length > 0 || busy > 0) return out.plan;

  // Every slot runs the target spec: the update completes one monitor window after the last
  // slot came up, unless a failure counts first (swarmkit's final monitor loop).
  const doneAtMs = lastUpAtMs + cfg.monitorMs;
  if (lastUpAtMs > 0 && doneAtMs > ctx.nowMs) {
    out.wakeAt(doneAtMs, `service "${name}": last monitor window`);
    return out.plan;
  }
  const rollingBack = isRollingBack(service);
  const failed = failures.length > 0 ? `; ${describeFailures(failures)}` : "";
  // A completed rollback keeps saying why it happened (the update's failure, or the user), so a
  // `service update` that waits — or a look at `service inspect` later — can tell.
  const why = rollingBack && service.updateStatus?.message ? `: ${service.updateStatus.message}` : "";
  out.updateService(
    withStatus(service, {
      state: rollingBack ? UpdateState.ROLLBACK_COMPLETED : UpdateState.COMPLETED,
      startedAtMs,
      completedAtMs: ctx.nowMs,
      message: `${rollingBack ? "rollback" : "update"} completed${why}${failed}`,
    }),
    `service "${name}": ${rollingBack ? "rollback" : "update"} completed`,
  );
  return out.plan;
}

function groupsOf(tasks: readonly Task[], global: boolean, template: TaskSpec | undefined): Group[] {
  const byKey = new Map<string, Task[]>();
  for (const t of tasks) {
    if (!isLive(t)) continue;
    const key = groupKey(t.slot, t.nodeId, global);
    let list = byKey.get(key);
    if (list === undefined) {
      list = [];
      byKey.set(key, list);
    }
    list.push(t);
  }
  const groups: Group[] = [];
  for (const live of byKey.values()) {
    live.sort(newestFirst);
    const first = live[0] as Task;
    const dirty = live.filter((t) => isTaskDirty(t, template));
    const clean = live.find((t) => !isTaskDirty(t, template));
    groups.push({ slot: first.slot, nodeId: global ? first.nodeId : "", dirty, clean });
  }
  return groups;
}

/** Remembers when each task of this roll was first seen up: its monitor window starts then. */
function recordUpTimes(
  tasks: readonly Task[],
  ofThisRoll: (t: Task) => boolean,
  ctx: ReconcileContext,
  out: PlanBuilder,
): void {
  for (const t of tasks) {
    if (t.upAtMs || !isLive(t) || !isUp(t) || !ofThisRoll(t)) continue;
    out.updateTask({ ...t, upAtMs: ctx.nowMs }, `task ${t.id} is up; its update monitor starts`);
  }
}

function replaceGroup(
  service: Service,
  g: Group,
  startFirst: boolean,
  nodes: ReadonlyMap<string, Node>,
  ctx: ReconcileContext,
  out: PlanBuilder,
): void {
  const holds = g.dirty.some((t) => occupiesSlot(t, nodes));
  const created = newTask(service, {
    id: ctx.newTaskId(),
    nowMs: ctx.nowMs,
    slot: g.slot,
    nodeId: g.nodeId,
    // Stop-first: the new task waits (READY) until the old one stopped; the orchestrator starts it.
    desiredState: startFirst || !holds ? TaskState.RUNNING : TaskState.READY,
    restartAtMs: ctx.nowMs,
    restartHistoryMs: [],
  });
  out.createTask(created, `${where(g)}: update (${startFirst ? "start-first" : "stop-first"})`);
  if (!startFirst) shutDown(g.dirty, out, `${where(g)}: update, replaced by task ${created.id}`);
}

function applyFailureAction(
  service: Service,
  cfg: EffectiveUpdateConfig,
  failures: readonly UpdateFailure[],
  ctx: ReconcileContext,
  out: PlanBuilder,
): void {
  const name = service.spec?.name || service.id;
  const what = describeFailures(failures);
  const status = service.updateStatus;
  const startedAtMs = status?.startedAtMs ?? ctx.nowMs;
  if (isRollingBack(service)) {
    // A rollback never rolls back again (swarmkit): it pauses, saying why.
    out.updateService(
      withStatus(service, {
        state: UpdateState.ROLLBACK_PAUSED,
        startedAtMs,
        completedAtMs: 0,
        message: `rollback paused due to failure or early termination of ${what}`,
      }),
      `service "${name}": rollback paused`,
    );
    return;
  }
  if (cfg.failureAction === UpdateFailureAction.ROLLBACK && service.previousSpec !== undefined) {
    out.updateService(
      {
        ...withStatus(service, {
          state: UpdateState.ROLLBACK_STARTED,
          startedAtMs: ctx.nowMs,
          completedAtMs: 0,
          message: `update rolled back due to failure or early termination of ${what}`,
        }),
        spec: service.previousSpec,
        previousSpec: undefined,
      },
      `service "${name}": update rolled back`,
    );
    return;
  }
  const noPrevious =
    cfg.failureAction === UpdateFailureAction.ROLLBACK ? "; no previous spec to roll back to" : "";
  out.updateService(
    withStatus(service, {
      state: UpdateState.PAUSED,
      startedAtMs,
      completedAtMs: 0,
      message: `update paused due to failure or early termination of ${what}${noPrevious}`,
    }),
    `service "${name}": update paused`,
  );
}

function withStatus(service: Service, status: NonNullable<Service["updateStatus"]>): Service {
  return { ...service, updateStatus: status };
}

function shutDown(tasks: readonly Task[], out: PlanBuilder, reason: string): void {
  for (const t of tasks) out.updateTask(withDesiredState(t, TaskState.SHUTDOWN), reason);
}

function groupKey(slot: number, nodeId: string, global: boolean): string {
  return global ? `n:${nodeId}` : `s:${slot}`;
}

function isRunning(task: Task): boolean {
  return observedState(task) === TaskState.RUNNING;
}

function where(g: Group): string {
  return g.nodeId !== "" ? `node ${g.nodeId}` : `slot ${g.slot}`;
}

function rollName(service: Service): string {
  return isRollingBack(service) ? "rollback" : "update";
}
