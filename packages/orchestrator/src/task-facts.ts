import {
  isTaskTerminal,
  type Node,
  NodeAvailability,
  NodeState,
  type Service,
  type Task,
  TaskState,
  UpdateOrder,
} from "@shoal/proto";
import {
  type CompiledConstraint,
  compileConstraints,
  nodeFromWire,
  nodeMatchesConstraints,
  platformMatches,
} from "@shoal/scheduler";

import { effectiveUpdateConfig } from "./update/update-config.js";

// Small facts about tasks and nodes that every reconciler reads the same way. The task-state
// order is proto's; "live" is the orchestrators' word for "the managers still want this task".

export function observedState(task: Task): TaskState {
  return task.status?.state ?? TaskState.NEW;
}

/** The managers still want the task (desired READY or RUNNING): it holds its slot. */
export function isLive(task: Task): boolean {
  return task.desiredState <= TaskState.RUNNING;
}

/** The task's container has ended for good (or it never got one and was rejected). */
export function hasEnded(task: Task): boolean {
  return isTaskTerminal(observedState(task));
}

/** Handed to a node: from ASSIGNED on, an agent may hold and report it. */
export function isOnNode(task: Task): boolean {
  return task.nodeId !== "" && observedState(task) >= TaskState.ASSIGNED;
}

export function isNodeDown(node: Node | undefined): boolean {
  return node === undefined || node.status?.state === NodeState.DOWN;
}

export function availabilityOf(node: Node): NodeAvailability {
  return node.spec?.availability ?? NodeAvailability.ACTIVE;
}

/**
 * Another task of the slot still occupies it: handed to a live node and not ended. A stop-first
 * replacement waits for it; a task on a down node does not count (the node is gone for now).
 */
export function occupiesSlot(task: Task, nodes: ReadonlyMap<string, Node>): boolean {
  return isOnNode(task) && !hasEnded(task) && !isNodeDown(nodes.get(task.nodeId));
}

/** Compiled constraints by their text; a pass asks for the same few sets once per task. */
const compiled = new Map<string, CompiledConstraint[] | undefined>();
const MAX_COMPILED = 1_024;

function compiledConstraints(texts: readonly string[]): CompiledConstraint[] | undefined {
  const key = texts.join("\u0000");
  if (compiled.has(key)) return compiled.get(key);
  let out: CompiledConstraint[] | undefined;
  try {
    out = compileConstraints(texts);
  } catch {
    // Validation refuses such specs; a stored one that does not compile matches nothing, so no
    // task lands (the scheduler reports the same constraint as an invalid placement).
    out = undefined;
  }
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(key, out);
  return out;
}

/** The service's template constraints and platforms hold on the node. */
export function nodeSatisfiesPlacement(task: Task["spec"], node: Node): boolean {
  const placement = task?.placement;
  const wireNode = nodeFromWire(node);
  const platforms = (placement?.platforms ?? []).map((p) => ({ os: p.os, architecture: p.architecture }));
  if (!platformMatches(platforms, wireNode.platform)) return false;
  const constraints = compiledConstraints(placement?.constraints ?? []);
  return constraints !== undefined && nodeMatchesConstraints(constraints, wireNode);
}

/** The current roll is start-first (the rollback config's order while rolling back). */
export function isStartFirst(service: Service): boolean {
  return effectiveUpdateConfig(service).order === UpdateOrder.START_FIRST;
}

/** Newest first: by creation time, then by id so that equal times still give one order. */
export function newestFirst(a: Task, b: Task): number {
  const ta = a.meta?.createdAtMs ?? 0;
  const tb = b.meta?.createdAtMs ?? 0;
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** A copy of `task` with a new desired state (the agent moves towards it, never past it). */
export function withDesiredState(task: Task, desiredState: TaskState): Task {
  return { ...task, desiredState };
}

/** A copy of `task` with a new observed status (manager-side moves: allocator, scheduler). */
export function withStatus(task: Task, nowMs: number, state: TaskState, message: string): Task {
  return {
    ...task,
    status: {
      timestampMs: nowMs,
      state,
      message,
      err: task.status?.err ?? "",
      containerStatus: task.status?.containerStatus,
      portStatus: task.status?.portStatus,
    },
  };
}

export function tasksOfService(tasks: ReadonlyMap<string, Task>): Map<string, Task[]> {
  const out = new Map<string, Task[]>();
  for (const t of tasks.values()) {
    let list = out.get(t.serviceId);
    if (list === undefined) {
      list = [];
      out.set(t.serviceId, list);
    }
    list.push(t);
  }
  return out;
}
