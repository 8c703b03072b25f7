import { type Clock, isAbortError, type Logger, type Random, ShoalError } from "@shoal/base";
import {
  type PortConfig,
  PortProtocol,
  PublishMode,
  type Task,
  TaskState,
  type TaskStatus,
  taskStateToJSON,
} from "@shoal/proto";
import { AgentErrorCode } from "../errors.js";
import type { Engine, EngineContainer, PublishedPort } from "../executor/engine.js";
import type { AssignedFiles } from "../files/assigned-files.js";
import type { AgentRecords, TaskRecord } from "../records/agent-records.js";
import type { StatusReporter } from "../reporter/status-reporter.js";
import { expandContainerSpec, type TemplateNode, templateContext } from "../template/task-template.js";
import { backoffDelayMs } from "./backoff.js";
import { isPermanentCode } from "./error-class.js";
import { type ControllerAction, nextAction, type ObservedFailure } from "./next-action.js";

/** Transient failures of one step (registry unreachable, …) before the task is given up. */
export const DEFAULT_MAX_TRANSIENT_ATTEMPTS = 6;
/**
 * How long a detach waits for the task's last status to reach the manager. The detach's process
 * spawns share the node's CPU (and on a manager's node its event loop) with sending that report
 * and with the manager committing it and placing a replacement: a kill -9 on the manager's node
 * took ~140 ms from the node's FAILED to the replacement's commit, 10-45 ms elsewhere.
 */
export const DETACH_AFTER_REPORT_MAX_MS = 250;

export interface TaskControllerDeps {
  taskId: string;
  engine: Engine;
  records: AgentRecords;
  reporter: StatusReporter;
  node: TemplateNode;
  /** The node's secrets and configs, for the files of a container at create. */
  files: AssignedFiles;
  clock: Clock;
  random: Random;
  logger: Logger;
  maxTransientAttempts?: number;
}

/**
 * The shell around `nextAction` for one task: observe (records + runtime), decide, perform one
 * effect, repeat. Waits (for an exit, a health change, a backoff, a new desired state) are
 * cancelled by `notify()`, which the worker calls whenever the task's assignment changes.
 */
export class TaskController {
  private failure: ObservedFailure | undefined;
  /** The step that failed last and how often in a row; kept across the retry's back-off. */
  private streak: { kind: string; attempts: number } | undefined;
  private wake = new AbortController();
  /**
   * Aborted by a new desired state only: a pull is not restarted by the record updates that come
   * with each status the manager writes (every one of them would otherwise start it over).
   */
  private desiredChange = new AbortController();
  /** The image this controller pulled: present even if the store names it differently. */
  private pulled: string | undefined;
  private desired: TaskState;
  private readonly log: Logger;
  private readonly maxTransientAttempts: number;

  constructor(private readonly deps: TaskControllerDeps) {
    this.log = deps.logger.child({ module: "agent/controller", taskId: deps.taskId });
    this.maxTransientAttempts = deps.maxTransientAttempts ?? DEFAULT_MAX_TRANSIENT_ATTEMPTS;
    this.desired = deps.records.get(deps.taskId)?.task.desiredState ?? TaskState.NEW;
  }

  /** The task's record changed (new desired state or spec): look again now. */
  notify(): void {
    const desired = this.deps.records.get(this.deps.taskId)?.task.desiredState;
    if (desired !== undefined && desired !== this.desired) {
      this.desired = desired;
      // A new desired state starts from a clean slate: a shutdown must not wait out a pull's backoff.
      this.failure = undefined;
      this.streak = undefined;
      const change = this.desiredChange;
      this.desiredChange = new AbortController();
      change.abort();
    }
    const wake = this.wake;
    this.wake = new AbortController();
    wake.abort();
  }

  /** Returns when the task is forgotten (nothing of it left on the node) or the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const record = this.deps.records.get(this.deps.taskId);
      if (record === undefined) return;
      const waitSignal = AbortSignal.any([signal, this.wake.signal]);
      const pullSignal = AbortSignal.any([signal, this.desiredChange.signal]);
      let container: EngineContainer | undefined;
      let imagePresent = true;
      try {
        container = await this.deps.engine.inspect(this.deps.taskId);
        const ref = record.task.spec?.container?.image ?? "";
        if (record.status.state === TaskState.PREPARING && container === undefined && this.pulled !== ref) {
          imagePresent = await this.deps.engine.hasImage(ref);
        }
      } catch (err) {
        // The runtime could not say; nothing is decided on a guess. Look again after a pause.
        this.log.warn({ err }, "cannot observe the task's container; retrying");
        await this.pause(backoffDelayMs(3, this.deps.random), waitSignal);
        continue;
      }
      const action = nextAction({
        state: record.status.state,
        desiredState: record.task.desiredState,
        hasHealthcheck: container?.hasHealthcheck ?? false,
        imagePresent,
        network:
          this.deps.engine.networkMode(record.task) === "not-needed"
            ? "not-needed"
            : record.networkAttached
              ? "attached"
              : "detached",
        container,
        failure: this.failure,
        maxTransientAttempts: this.maxTransientAttempts,
      });
      if (action.kind === "forget") {
        // Not before the manager has the task's last status: forgetting first would drop the
        // report (the reporter sends from the records), and the manager would wait forever on a
        // task it thinks is still ASSIGNED here (it even hands it back, to be forgotten again).
        try {
          await this.deps.reporter.delivered(this.deps.taskId, record.seq, waitSignal);
        } catch (err) {
          if (signal.aborted) return;
          if (isAbortError(err) || waitSignal.aborted) continue;
          throw err;
        }
        this.deps.records.delete(this.deps.taskId);
        this.log.info("task removed from the node");
        return;
      }
      await this.perform(action, record, container, waitSignal, pullSignal);
    }
  }

  private async perform(
    action: ControllerAction,
    record: TaskRecord,
    container: EngineContainer | undefined,
    waitSignal: AbortSignal,
    pullSignal: AbortSignal,
  ): Promise<void> {
    const { engine } = this.deps;
    const task = record.task;
    switch (action.kind) {
      case "report":
        this.reportState(record, action, container);
        this.failure = undefined;
        return;
      case "idle":
        await this.pause(undefined, waitSignal);
        return;
      case "wait":
      case "wait-healthy":
        try {
          await engine.waitForChange(task.id, waitSignal);
        } catch (err) {
          if (isAbortError(err) || waitSignal.aborted) return;
          this.log.warn({ err }, "waiting on the container failed; looking again");
          await this.pause(backoffDelayMs(3, this.deps.random), waitSignal);
        }
        return;
      case "retry":
        await this.pause(backoffDelayMs(action.attempt, this.deps.random), waitSignal);
        // Retry only if nothing woke us for another reason (then the new input decides).
        this.failure = undefined;
        return;
      default:
        await this.effect(action.kind, async () => {
          // Nothing happens on the node before the records that lead to it are on disk (the
          // assignment, the desired state): a restarted agent finds what it had begun.
          await this.deps.records.durable();
          switch (action.kind) {
            case "pull":
              await engine.pull(task.spec?.container?.image ?? "", task.registryAuth, pullSignal);
              this.pulled = task.spec?.container?.image;
              return;
            case "attach-network":
              // Recorded first: a crash mid-attach leaves a record that makes the next run detach.
              this.deps.records.put({ ...record, networkAttached: true });
              await this.deps.records.durable();
              {
                const ports = await engine.attachNetwork(task);
                // Kept on the record's status, so the next report (READY) carries them.
                const current = this.deps.records.get(task.id) ?? record;
                this.deps.records.put({
                  ...current,
                  status: { ...current.status, portStatus: { ports: ports.map(toPortConfig) } },
                });
              }
              return;
            case "detach-network":
              await this.afterReport(record, waitSignal);
              await engine.detachNetwork(task.id);
              this.deps.records.put({ ...record, networkAttached: false });
              return;
            case "create": {
              const expanded = expandedTask(task, this.deps.node);
              const files = await this.deps.files.forTask(expanded, waitSignal);
              await engine.create(expanded, this.deps.node, files);
              return;
            }
            case "start":
              await engine.start(task.id);
              return;
            case "stop":
              await engine.stop(task);
              return;
            case "remove":
              await engine.remove(task.id);
              return;
          }
        });
    }
  }

  private async effect(kind: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      this.streak = undefined;
    } catch (err) {
      if (isAbortError(err)) return;
      const code = (err as { code?: unknown }).code;
      const attempts = this.streak?.kind === kind ? this.streak.attempts + 1 : 1;
      this.streak = { kind, attempts };
      const message = err instanceof Error ? err.message : String(err);
      this.failure = {
        permanent: isPermanentCode(typeof code === "string" ? code : undefined),
        message,
        attempts,
      };
      this.log.warn({ err, step: kind, attempts, permanent: this.failure.permanent }, "task step failed");
    }
  }

  private reportState(
    record: TaskRecord,
    action: ControllerAction & { kind: "report" },
    container: EngineContainer | undefined,
  ): void {
    const status: TaskStatus = {
      timestampMs: this.deps.clock.now(),
      state: action.state,
      message: action.message,
      err: action.err ?? "",
      containerStatus:
        container === undefined
          ? record.status.containerStatus
          : {
              containerId: record.task.id,
              pid: container.pid ?? 0,
              exitCode: action.exitCode ?? container.exitCode ?? 0,
              // Carried by each transition (RUNNING: healthy, FAILED: unhealthy); the manager takes
              // forward moves only, so a change within one state waits for the next transition.
              health: container.health ?? "",
            },
      portStatus: record.status.portStatus,
    };
    this.log.info(
      {
        from: taskStateToJSON(record.status.state),
        to: taskStateToJSON(action.state),
        ...(action.err === undefined ? {} : { reason: action.err }),
      },
      "task state changed",
    );
    this.deps.reporter.report(record.task.id, status);
  }

  /** Until the record's status is delivered, at most DETACH_AFTER_REPORT_MAX_MS (or the signal). */
  private async afterReport(record: TaskRecord, signal: AbortSignal): Promise<void> {
    const local = new AbortController();
    const both = AbortSignal.any([signal, local.signal]);
    try {
      await Promise.race([
        this.deps.reporter.delivered(record.task.id, record.seq, both).catch(() => undefined),
        ignoreAbort(this.deps.clock.sleep(DETACH_AFTER_REPORT_MAX_MS, both)),
      ]);
    } finally {
      local.abort();
    }
  }

  private async pause(delayMs: number | undefined, signal: AbortSignal): Promise<void> {
    if (delayMs === undefined) {
      if (signal.aborted) return;
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      return;
    }
    await ignoreAbort(this.deps.clock.sleep(delayMs, signal));
  }
}

/** The task with its container spec's templates expanded; throws AGENT_* for a task that cannot run. */
function expandedTask(task: Task, node: TemplateNode): Task {
  const container = task.spec?.container;
  if (task.spec === undefined || container === undefined || container.image === "") {
    throw new ShoalError(AgentErrorCode.InvalidTask, `task "${task.id}" has no container image to run`);
  }
  return {
    ...task,
    spec: { ...task.spec, container: expandContainerSpec(container, templateContext(task, node)) },
  };
}

function toPortConfig(p: PublishedPort): PortConfig {
  return {
    name: "",
    protocol: p.protocol === "udp" ? PortProtocol.UDP : PortProtocol.TCP,
    targetPort: p.targetPort,
    publishedPort: p.publishedPort,
    publishMode: PublishMode.HOST,
  };
}

async function ignoreAbort(work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (!isAbortError(err)) throw err;
  }
}
