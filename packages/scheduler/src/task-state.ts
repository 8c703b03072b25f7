import { TASK_STATES, type TaskState } from "./types.js";

// A plain object, not a Map: this is looked up twice per placed task on every schedule() call.
const RANK = Object.fromEntries(TASK_STATES.map((s, i) => [s, i])) as Readonly<Record<TaskState, number>>;
const RUNNING = RANK.running;

function rankOf(state: TaskState): number {
  return RANK[state] ?? Number.MAX_SAFE_INTEGER;
}

/**
 * A task holds its node's resources and host ports until it is observed past RUNNING: a task told
 * to shut down still occupies memory until its container is gone.
 */
export function holdsResources(observed: TaskState): boolean {
  return rankOf(observed) <= RUNNING;
}

/**
 * A task counts for spread (tasks of the service per node) only while it is also meant to run, as
 * Swarm's active-task counts: a task being replaced should not push its successor elsewhere.
 */
export function countsForSpread(desired: TaskState, observed: TaskState): boolean {
  return rankOf(desired) <= RUNNING && rankOf(observed) <= RUNNING;
}
