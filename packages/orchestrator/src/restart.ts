import { RestartCondition, ServiceDefaults, type Task, TaskState } from "@shoal/proto";
import { observedState } from "./task-facts.js";

/**
 * The restart supervisor's decision for a task that ended on its own (its desired state was still
 * RUNNING): restart its slot at a time, or hold it. Pure: the delay is a time in the decision, and
 * the attempts live on the tasks (`restartHistoryMs`), so a new leader decides the same.
 */
export type RestartDecision =
  | { kind: "restart"; restartAtMs: number; restartHistoryMs: number[]; reason: string }
  | { kind: "hold"; reason: string; retryAtMs?: number };

export interface RestartPolicyFacts {
  condition: RestartCondition;
  delayMs: number;
  maxAttempts: number;
  windowMs: number;
}

/** The task's policy with Swarm's defaults (any, 5 s, unlimited; jobs: on-failure). */
export function restartPolicyOf(task: Task, isJob: boolean): RestartPolicyFacts {
  const p = task.spec?.restartPolicy;
  const d = ServiceDefaults.restart;
  let condition = p?.condition ?? RestartCondition.UNSPECIFIED;
  if (condition === RestartCondition.UNSPECIFIED) condition = isJob ? d.jobCondition : d.condition;
  return {
    condition,
    delayMs: Math.max(0, p?.delayMs ?? d.delayMs),
    maxAttempts: Math.max(0, p?.maxAttempts ?? d.maxAttempts),
    windowMs: Math.max(0, p?.windowMs ?? d.windowMs),
  };
}

function stateName(task: Task): string {
  const s = observedState(task);
  if (s === TaskState.COMPLETE) return "completed";
  if (s === TaskState.REJECTED) return "was rejected";
  if (s === TaskState.SHUTDOWN) return "shut down";
  return "failed";
}

export function decideRestart(ended: Task, nowMs: number, isJob: boolean): RestartDecision {
  const policy = restartPolicyOf(ended, isJob);
  const what = `task ${ended.id} ${stateName(ended)}`;
  if (policy.condition === RestartCondition.NONE)
    return { kind: "hold", reason: `${what}; restart condition is none` };
  if (policy.condition === RestartCondition.ON_FAILURE && observedState(ended) === TaskState.COMPLETE) {
    return { kind: "hold", reason: `${what}; restart condition on-failure does not restart a success` };
  }
  const history = ended.restartHistoryMs;
  // Swarm counts restarts within the window (or ever, when the window is 0).
  const counted = policy.windowMs > 0 ? history.filter((t) => t > nowMs - policy.windowMs) : [...history];
  if (policy.maxAttempts > 0 && counted.length >= policy.maxAttempts) {
    const within = policy.windowMs > 0 ? ` within ${policy.windowMs} ms` : "";
    const oldest = counted[0];
    const reason = `${what}; ${counted.length} of ${policy.maxAttempts} restart attempts used${within}`;
    // The oldest attempt leaving the window frees one: look again then (Swarm waits for an event).
    return policy.windowMs > 0 && oldest !== undefined
      ? { kind: "hold", reason, retryAtMs: oldest + policy.windowMs }
      : { kind: "hold", reason };
  }
  // A task that ended before its own restart time (one waiting out its delay as READY, rejected
  // by its node while preparing: a missing image) is replaced at that time, not at once: else the
  // slot is retried as fast as a node can reject it (~100 REJECTED tasks in 80 s were seen), the
  // delay never applying to rejections. Its replacement waits its own delay from then.
  if (ended.restartAtMs > nowMs)
    return {
      kind: "hold",
      reason: `${what} before its restart delay ended; replaced in ${ended.restartAtMs - nowMs} ms`,
      retryAtMs: ended.restartAtMs,
    };
  // Only as many attempts as can still count are kept, so the history never grows without bound.
  const kept = policy.maxAttempts > 0 ? [...counted, nowMs].slice(-policy.maxAttempts) : [];
  return {
    kind: "restart",
    restartAtMs: nowMs + policy.delayMs,
    restartHistoryMs: kept,
    reason: `${what}; restart in ${policy.delayMs} ms`,
  };
}
