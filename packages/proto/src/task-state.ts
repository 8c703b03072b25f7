import type { ServiceSpec } from "./gen/shoal/v1/specs.js";
import { ServiceModeKind, TaskState } from "./gen/shoal/v1/types.js";

/**
 * Whether a task in `state` has ended for good: COMPLETE, SHUTDOWN, FAILED, REJECTED (and the
 * bookkeeping states after them). Relies on TaskState's numeric order.
 */
export function isTaskTerminal(state: TaskState): boolean {
  return state > TaskState.RUNNING;
}

/**
 * Task states only move forward; a status report that would move a task backwards (a stale or
 * duplicated report) must be ignored. Equal states are allowed (message or timestamp updates).
 */
export function isForwardTaskTransition(from: TaskState, to: TaskState): boolean {
  return to >= from;
}

/** Which arm of `spec.mode` is used; an unset mode means replicated (the default). */
export function serviceModeKind(spec: ServiceSpec): ServiceModeKind {
  switch (spec.mode?.$case) {
    case "global":
      return ServiceModeKind.GLOBAL;
    case "replicatedJob":
      return ServiceModeKind.REPLICATED_JOB;
    case "globalJob":
      return ServiceModeKind.GLOBAL_JOB;
    default:
      return ServiceModeKind.REPLICATED;
  }
}

/** Jobs run to completion instead of being kept running. */
export function isJobService(spec: ServiceSpec): boolean {
  const kind = serviceModeKind(spec);
  return kind === ServiceModeKind.REPLICATED_JOB || kind === ServiceModeKind.GLOBAL_JOB;
}
