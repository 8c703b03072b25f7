import { TaskState } from "@shoal/proto";

/**
 * The task controller's decisions as one pure function (DESIGN.md §5, swarmkit's `exec.Do` as the
 * model): what the agent knows of a task and its container in, the single next step out. The shell
 * (`task-controller.ts`) performs the step, observes again and asks again, so every path — first
 * start, restart of the agent mid-way, a container that ended while the agent was down — goes
 * through the same table.
 */

/** What the runtime says about the task's container. */
export interface ObservedContainer {
  state: "created" | "running" | "exited";
  exitCode?: number | undefined;
  oomKilled?: boolean | undefined;
  /** Only when the container has a health check. */
  health?: "starting" | "healthy" | "unhealthy" | undefined;
}

/** The last effect's failure, classified (`error-class.ts`); cleared when the effect is retried. */
export interface ObservedFailure {
  permanent: boolean;
  message: string;
  /** Consecutive failures of the same step, this one included. */
  attempts: number;
}

export interface ControllerInput {
  /** The state the agent last recorded for the task (agent-owned from ACCEPTED on). */
  state: TaskState;
  desiredState: TaskState;
  /** The task (or its image) defines a health check: RUNNING waits until it passes. */
  hasHealthcheck: boolean;
  imagePresent: boolean;
  /** "not-needed" for host networking. */
  network: "detached" | "attached" | "not-needed";
  container?: ObservedContainer | undefined;
  failure?: ObservedFailure | undefined;
  /** Transient failures of one step after which the task gives up as if the failure were permanent. */
  maxTransientAttempts: number;
}

export type ControllerAction =
  /** Record and report a new state; no other effect. */
  | { kind: "report"; state: TaskState; message: string; err?: string; exitCode?: number }
  | { kind: "pull" }
  | { kind: "attach-network" }
  | { kind: "create" }
  | { kind: "start" }
  /** The container runs; wait for its health check to pass or fail. */
  | { kind: "wait-healthy" }
  /** Wait for the container to exit (or for a new desired state). */
  | { kind: "wait" }
  /** Stop signal, grace period, then SIGKILL. */
  | { kind: "stop" }
  | { kind: "remove" }
  | { kind: "detach-network" }
  /** Nothing of the task is left on the node: drop its records. */
  | { kind: "forget" }
  /** A transient failure: back off (`attempt` = failures so far), then observe again. */
  | { kind: "retry"; attempt: number }
  /** Nothing to do until the desired state changes. */
  | { kind: "idle" };

const S = TaskState;

export function isTerminal(state: TaskState): boolean {
  return state >= S.COMPLETE;
}

export function nextAction(input: ControllerInput): ControllerAction {
  const { state, desiredState, container } = input;
  // 1. Shutting down wins over everything, even over a pending retry: the user asked the task to go.
  if (desiredState >= S.SHUTDOWN) return shutDown(input);
  // 2. A terminal task never runs again (states only move forward); clean up what it leaves.
  if (isTerminal(state)) {
    if (input.failure !== undefined) return { kind: "retry", attempt: input.failure.attempts };
    return cleanUpTerminal(input, false);
  }
  // 3. The last step failed: give up on a permanent failure, otherwise back off and retry.
  if (input.failure !== undefined) return onFailure(state, input.failure, input.maxTransientAttempts);
  switch (state) {
    case S.NEW:
    case S.PENDING:
    case S.ASSIGNED:
      return hold(desiredState, S.ACCEPTED, { kind: "report", state: S.ACCEPTED, message: "accepted" });
    case S.ACCEPTED:
      return hold(desiredState, S.PREPARING, { kind: "report", state: S.PREPARING, message: "preparing" });
    case S.PREPARING:
      return prepare(input);
    case S.READY:
      if (container === undefined) return vanished(state);
      return hold(desiredState, S.STARTING, { kind: "report", state: S.STARTING, message: "starting" });
    case S.STARTING:
      return starting(input);
    case S.RUNNING:
      return running(input);
    default:
      // A state between the named ones (a future insertion): move on only when it is understood.
      return { kind: "idle" };
  }
}

/** `action` only when the state it leads to does not pass the desired state. */
function hold(desired: TaskState, next: TaskState, action: ControllerAction): ControllerAction {
  return next <= desired ? action : { kind: "idle" };
}

function prepare(input: ControllerInput): ControllerAction {
  if (input.container !== undefined) {
    return hold(input.desiredState, S.READY, { kind: "report", state: S.READY, message: "prepared" });
  }
  if (!input.imagePresent) return { kind: "pull" };
  if (input.network === "detached") return { kind: "attach-network" };
  return { kind: "create" };
}

function starting(input: ControllerInput): ControllerAction {
  const c = input.container;
  if (c === undefined) return vanished(input.state);
  if (c.state === "created") return { kind: "start" };
  if (c.state === "exited") return exited(c);
  if (c.health === "unhealthy") return unhealthy();
  if (input.hasHealthcheck && c.health !== "healthy") return { kind: "wait-healthy" };
  return hold(input.desiredState, S.RUNNING, { kind: "report", state: S.RUNNING, message: "started" });
}

function running(input: ControllerInput): ControllerAction {
  const c = input.container;
  if (c === undefined) return vanished(input.state);
  if (c.state === "exited") return exited(c);
  // A container that is running but only `created` here would mean the runtime lost the start;
  // it cannot be started twice, so the task ends.
  if (c.state === "created") {
    return { kind: "report", state: S.FAILED, message: "failed", err: "container is not running" };
  }
  if (c.health === "unhealthy") return unhealthy();
  return { kind: "wait" };
}

function exited(c: ObservedContainer): ControllerAction {
  const exitCode = c.exitCode ?? -1;
  if (exitCode === 0) return { kind: "report", state: S.COMPLETE, message: "finished", exitCode };
  const err = c.oomKilled
    ? `task: non-zero exit (${exitCode}): OOM killed`
    : `task: non-zero exit (${exitCode})`;
  return { kind: "report", state: S.FAILED, message: "failed", err, exitCode };
}

function unhealthy(): ControllerAction {
  // Reported first, stopped next (rule 2 stops a terminal task's running container): the status
  // carries the reason even if the stop takes the whole grace period.
  return { kind: "report", state: S.FAILED, message: "failed", err: "container is unhealthy" };
}

function vanished(state: TaskState): ControllerAction {
  return {
    kind: "report",
    state: state < S.STARTING ? S.REJECTED : S.FAILED,
    message: state < S.STARTING ? "rejected" : "failed",
    err: "container is gone from the node",
  };
}

function onFailure(state: TaskState, failure: ObservedFailure, maxAttempts: number): ControllerAction {
  if (!failure.permanent && failure.attempts < maxAttempts)
    return { kind: "retry", attempt: failure.attempts };
  // Before the container started the task was never run: REJECTED (the scheduler may try another
  // node); from STARTING on it ran, or tried to: FAILED (the restart policy applies).
  if (state < S.STARTING)
    return { kind: "report", state: S.REJECTED, message: "rejected", err: failure.message };
  return { kind: "report", state: S.FAILED, message: "failed", err: failure.message };
}

function shutDown(input: ControllerInput): ControllerAction {
  // A failed stop or remove is never given up on: a container left running is the worse outcome.
  if (input.failure !== undefined) return { kind: "retry", attempt: input.failure.attempts };
  const c = input.container;
  if (c?.state === "running") return { kind: "stop" };
  if (!isTerminal(input.state)) {
    const action: ControllerAction = { kind: "report", state: S.SHUTDOWN, message: "shutdown" };
    if (c?.state === "exited" && c.exitCode !== undefined) action.exitCode = c.exitCode;
    return action;
  }
  return cleanUpTerminal(input, input.desiredState >= S.REMOVE);
}

/** A terminal task: no process keeps running, no address stays held, and on REMOVE nothing stays. */
function cleanUpTerminal(input: ControllerInput, removing: boolean): ControllerAction {
  const c = input.container;
  if (c?.state === "running") return { kind: "stop" };
  // A created container never ran; it holds an image and a bundle for nothing.
  if (c !== undefined && (removing || c.state === "created")) return { kind: "remove" };
  if (input.network === "attached") return { kind: "detach-network" };
  return removing ? { kind: "forget" } : { kind: "idle" };
}
