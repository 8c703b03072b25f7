import type { Clock, Logger, Random } from "@shoal/base";
import {
  AssignmentAction,
  type AssignmentChange,
  type Config,
  type NodeOverlay,
  type Secret,
  type Task,
  TaskState,
  type TaskStatus,
} from "@shoal/proto";
import { TaskController } from "./controller/task-controller.js";
import type { Engine } from "./executor/engine.js";
import { AssignedFiles } from "./files/assigned-files.js";
import type { AgentRecords } from "./records/agent-records.js";
import type { StatusReporter } from "./reporter/status-reporter.js";
import type { TemplateNode } from "./template/task-template.js";

/** Where a dispatcher session delivers assignments. */
export interface AssignmentSink {
  /**
   * A COMPLETE set: everything the node must run and hold; a task missing from it is removed, and
   * no overlay means the node needs none (what it had is taken down).
   */
  applyComplete(tasks: Task[], secrets: Secret[], configs: Config[], overlay?: NodeOverlay): void;
  applyIncremental(changes: AssignmentChange[]): void;
}

export interface WorkerOptions {
  records: AgentRecords;
  reporter: StatusReporter;
  engine: Engine;
  node: TemplateNode;
  clock: Clock;
  random: Random;
  logger: Logger;
  maxTransientAttempts?: number;
}

/**
 * Keeps one controller per task the node holds (swarmkit's `agent/worker.go`). Started from the
 * records alone — a restarted agent re-adopts its containers before any manager answers, and keeps
 * them running while no manager does. Assignments then update the records: the agent's own status
 * wins over the manager's copy (it is newer: the manager learns it from our reports), and a task
 * no longer assigned is shut down and removed.
 */
export class Worker implements AssignmentSink {
  private readonly controllers = new Map<string, { controller: TaskController; done: Promise<void> }>();
  private signal: AbortSignal | undefined;
  private readonly log: Logger;
  /** The node's secrets and configs, in memory only. */
  readonly files = new AssignedFiles();

  constructor(private readonly opts: WorkerOptions) {
    this.log = opts.logger.child({ module: "agent/worker" });
  }

  /** Starts controllers for every recorded task; resolves when the signal aborts and all have stopped. */
  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    for (const r of this.opts.records.all()) this.ensureController(r.task.id);
    this.log.info({ tasks: this.controllers.size }, "worker started from records");
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    await Promise.all([...this.controllers.values()].map((c) => c.done));
  }

  /** Task ids with a live controller. */
  taskIds(): string[] {
    return [...this.controllers.keys()];
  }

  applyComplete(tasks: Task[], secrets: Secret[], configs: Config[], overlay?: NodeOverlay): void {
    // Secrets and the overlay first: a new task's controller may be waiting for them.
    this.files.replace(secrets, configs);
    this.setOverlay(overlay);
    const assigned = new Set(tasks.map((t) => t.id));
    for (const t of tasks) this.upsert(t);
    for (const r of this.opts.records.all()) if (!assigned.has(r.task.id)) this.markRemoved(r.task.id);
  }

  applyIncremental(changes: AssignmentChange[]): void {
    for (const change of changes) {
      const item = change.assignment?.item;
      const remove = change.action === AssignmentAction.REMOVE;
      switch (item?.$case) {
        case "task":
          if (remove) this.markRemoved(item.value.id);
          else this.upsert(item.value);
          break;
        // A running container keeps its copy (its files are on its own tmpfs) until it is removed.
        case "secret":
          if (remove) this.files.removeSecret(item.value.id);
          else this.files.putSecret(item.value);
          break;
        case "config":
          if (remove) this.files.removeConfig(item.value.id);
          else this.files.putConfig(item.value);
          break;
        case "overlay":
          this.setOverlay(remove ? undefined : item.value);
          break;
      }
    }
  }

  /** Programmed in order of arrival (the engine serialises); failures are the engine's to retry. */
  private setOverlay(overlay: NodeOverlay | undefined): void {
    this.opts.engine.setOverlay?.(overlay).catch((err: unknown) => {
      this.log.warn({ err }, "programming the overlay failed");
    });
  }

  private upsert(task: Task): void {
    const existing = this.opts.records.get(task.id);
    if (existing === undefined) {
      // A task the node has never seen, or one it forgot already: a terminal one is not revived.
      if (task.desiredState >= TaskState.SHUTDOWN && (task.status?.state ?? 0) < TaskState.ASSIGNED) return;
      const status: TaskStatus = task.status ?? {
        timestampMs: this.opts.clock.now(),
        state: TaskState.ASSIGNED,
        message: "",
        err: "",
        containerStatus: undefined,
        portStatus: undefined,
      };
      this.opts.records.put({ task, status, seq: 0, networkAttached: false });
    } else {
      const changed =
        existing.task.desiredState !== task.desiredState ||
        existing.task.meta?.version !== task.meta?.version;
      if (!changed) return;
      // Desired states only move forward too: a stale copy of the task never undoes a shutdown.
      const desiredState = Math.max(existing.task.desiredState, task.desiredState) as TaskState;
      this.opts.records.put({ ...existing, task: { ...task, desiredState } });
    }
    this.ensureController(task.id)?.notify();
  }

  private markRemoved(taskId: string): void {
    const existing = this.opts.records.get(taskId);
    if (existing === undefined || existing.task.desiredState === TaskState.REMOVE) return;
    this.opts.records.put({ ...existing, task: { ...existing.task, desiredState: TaskState.REMOVE } });
    this.ensureController(taskId)?.notify();
  }

  private ensureController(taskId: string): TaskController | undefined {
    const signal = this.signal;
    if (signal === undefined || signal.aborted) return undefined;
    const live = this.controllers.get(taskId);
    if (live !== undefined) return live.controller;
    const controller = new TaskController({ ...this.opts, files: this.files, taskId });
    const done = controller
      .run(signal)
      .catch((err: unknown) => {
        // A controller that throws has hit a broken invariant; the task stays recorded and the
        // next agent start takes it up again.
        this.log.error({ err, taskId }, "task controller crashed");
      })
      .finally(() => {
        if (this.controllers.get(taskId)?.controller === controller) this.controllers.delete(taskId);
      });
    this.controllers.set(taskId, { controller, done });
    return controller;
  }
}
