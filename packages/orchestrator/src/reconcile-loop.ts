import { type Clock, type Logger, newId, type Random, type TimerHandle } from "@shoal/base";
import type { Service } from "@shoal/proto";
import { Batcher, type BatchTiming, IMMEDIATE } from "./batcher.js";
import { isEmptyPlan, type Plan, wakeAtMs } from "./plan.js";
import type { OrchestratorStore, StoreChange, ViewScope } from "./store-port.js";
import type { ClusterView, ReconcileContext } from "./view.js";

/** One pure decision pass of a loop: the whole view in, a plan out. */
export type ReconcileStep = (view: ClusterView, ctx: ReconcileContext & { random: Random }) => Plan;

export interface ReconcileLoopOptions {
  /** For logs: "orchestrator", "allocator", "scheduler". */
  name: string;
  store: OrchestratorStore;
  step: ReconcileStep;
  clock: Clock;
  random: Random;
  logger: Logger;
  batch?: BatchTiming | undefined;
  newTaskId?: (() => string) | undefined;
  maxConflictRetries?: number | undefined;
  /**
   * Pass over only the services and nodes changed since the last pass (the store's `scopedView`),
   * not the whole view: `allServices` reads every service object (tasks still by scope);
   * `progress` says for which services a task that only moved towards running is a change (the
   * updater, while a roll is in progress: it watches tasks come up; the orchestrators decide
   * nothing on it). The first pass, a timer's, a cluster object change and a watch that fell
   * behind read everything. `gateTaskChanges` applies `progress` to every task change, not only
   * to progress: the updater decides on tasks only during a roll (a service change starts one),
   * so the orchestrator's replacements of a lost node's tasks do not cost it a pass over every
   * service they touch.
   */
  incremental?:
    | {
        allServices: boolean;
        progress: false | ((service: Service) => boolean);
        gateTaskChanges?: boolean | undefined;
        /** Which services a changed node brings into the pass (see ViewScope.nodeServices). */
        nodeServices?: ((service: Service) => boolean) | undefined;
      }
    | undefined;
  /** Checked before each pass: false skips it (the scheduler with no PENDING task). */
  wanted?: (() => boolean) | undefined;
  /**
   * The changes of this loop's own committed plans are no reason for another pass: for a step
   * that a pass over its own plan's result leaves with nothing to do (the orchestrators; not the
   * allocator, which gives a node its ingress address a pass after its subnet, nor the updater,
   * which completes a roll a pass after its last batch). A plan that met a conflict is
   * reconciled again anyway.
   */
  skipOwnWrites?: boolean | undefined;
}

/** Passes retried at once after version conflicts before the loop waits for the next change. */
export const DEFAULT_MAX_CONFLICT_RETRIES = 5;
/** After that many conflicts in a row, the loop tries again this much later. */
const CONFLICT_BACKOFF_MS = 100;

/**
 * The shell around a pure step: a full pass when it starts (so a new leader resumes from the
 * store alone), another after each batch of commits, and one at the earliest time a plan asked
 * for (restart delays). Plans are committed in one version-checked update and recomputed on a
 * conflict. It holds nothing a new leader would lack: only a timer and a batch.
 */
export class ReconcileLoop {
  private readonly options: Required<
    Omit<
      ReconcileLoopOptions,
      "batch" | "newTaskId" | "maxConflictRetries" | "incremental" | "wanted" | "skipOwnWrites"
    >
  > & {
    batch: BatchTiming;
    newTaskId: () => string;
    maxConflictRetries: number;
    incremental: ReconcileLoopOptions["incremental"];
    wanted: (() => boolean) | undefined;
    skipOwnWrites: boolean;
  };
  private readonly stopper = new AbortController();
  private readonly log: Logger;
  private wakeTimer: TimerHandle | undefined;
  private wakeAt: number | undefined;
  private retryTimer: TimerHandle | undefined;
  /** Told of each pass that committed, so that only busy passes make later commits wait. */
  private batcher: Batcher | undefined;
  private passing = false;
  private again = false;
  // What changed since the last pass began (incremental loops): services and nodes by id, or
  // everything.
  private full = true;
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyNodes = new Set<string>();
  private readonly progressedServices = new Set<string>();
  /** A change since the last commit event that this loop must look at. */
  private touched = false;
  /**
   * With skipOwnWrites: `kind:id` of the objects the plans being committed write, to the version
   * each was read at (-1: created). Only one write can follow a version, so a change from that
   * version is this loop's own. Entries of the plan before the last are dropped (a write that
   * failed has no change to wait for).
   */
  private ownWrites = new Map<string, number>();
  private previousOwnWrites = new Map<string, number>();

  constructor(options: ReconcileLoopOptions) {
    this.options = {
      ...options,
      batch: options.batch ?? IMMEDIATE,
      newTaskId: options.newTaskId ?? newId,
      maxConflictRetries: options.maxConflictRetries ?? DEFAULT_MAX_CONFLICT_RETRIES,
      incremental: options.incremental,
      wanted: options.wanted,
      skipOwnWrites: options.skipOwnWrites ?? false,
    };
    this.log = options.logger.child({ module: `orchestrator/${options.name}` });
  }

  /** Runs until `signal` fires or `stop()` is called; rejects if a pass fails (a broken invariant). */
  async run(signal: AbortSignal): Promise<void> {
    const done = AbortSignal.any([signal, this.stopper.signal]);
    let failure: unknown;
    const fail = (err: unknown) => {
      failure ??= err;
      this.stopper.abort();
    };
    const batcher = new Batcher(this.options.clock, this.options.batch, () => this.pass(done).catch(fail));
    this.batcher = batcher;
    const watching = (async () => {
      // A loop that would skip the pass (the scheduler with no PENDING task) is not poked: the
      // status commits of running tasks would otherwise keep extending its batch. Asked only
      // when a poke could still change when the next pass is (`wanted` may read an index).
      for await (const change of this.options.store.watch(done)) {
        if (!this.note(change) || batcher.isDue) continue;
        if (this.options.wanted === undefined || this.options.wanted()) batcher.poke();
      }
    })().catch((err) => {
      if (!done.aborted) fail(err);
    });
    await this.pass(done).catch(fail);
    if (!done.aborted)
      await new Promise<void>((resolve) => done.addEventListener("abort", () => resolve(), { once: true }));
    batcher.cancel();
    if (this.wakeTimer !== undefined) this.options.clock.clearTimeout(this.wakeTimer);
    if (this.retryTimer !== undefined) this.options.clock.clearTimeout(this.retryTimer);
    await watching;
    if (failure !== undefined) throw failure;
  }

  stop(): void {
    this.stopper.abort();
  }

  /** Records a change; true at a commit after which a pass is due. */
  private note(change: StoreChange): boolean {
    const incremental = this.options.incremental;
    if (change.kind === "commit") {
      if (change.resync === true) {
        this.full = true;
        this.log.info("the store watch fell behind; the next pass reads everything");
      }
      const due = incremental === undefined || this.touched || change.resync === true;
      this.touched = false;
      return due;
    }
    if (incremental === undefined) return false;
    if (this.isOwnWrite(change)) return false;
    if (change.objectKind === "cluster") this.full = true;
    else if (change.objectKind === "service") this.dirtyServices.add(change.id);
    else if (change.objectKind === "node") this.dirtyNodes.add(change.id);
    else if (change.serviceId === undefined) this.full = true;
    else if (
      change.progressOnly !== true &&
      (incremental.gateTaskChanges !== true || incremental.progress === false)
    )
      this.dirtyServices.add(change.serviceId);
    else if (incremental.progress === false) return false;
    else this.progressedServices.add(change.serviceId);
    this.touched = true;
    return false;
  }

  private isOwnWrite(change: StoreChange & { kind: "object" }): boolean {
    if (change.oldVersion === undefined) return false;
    const key = `${change.objectKind}:${change.id}`;
    for (const writes of [this.ownWrites, this.previousOwnWrites]) {
      if (writes.get(key) !== change.oldVersion) continue;
      writes.delete(key);
      return true;
    }
    return false;
  }

  private expectOwnWrites(plan: Plan): void {
    if (!this.options.skipOwnWrites) return;
    const writes = new Map<string, number>();
    for (const c of plan.createTasks) writes.set(`task:${c.object.id}`, -1);
    for (const c of plan.updateTasks) writes.set(`task:${c.object.id}`, c.object.meta?.version ?? 0);
    for (const c of plan.updateNodes) writes.set(`node:${c.object.id}`, c.object.meta?.version ?? 0);
    for (const c of plan.updateServices) writes.set(`service:${c.object.id}`, c.object.meta?.version ?? 0);
    this.previousOwnWrites = this.ownWrites;
    this.ownWrites = writes;
  }

  /** What the next pass reads: undefined for everything. Resets the record of changes. */
  private takeScope(): ViewScope | undefined {
    const incremental = this.options.incremental;
    const full = this.full || incremental === undefined || this.options.store.scopedView === undefined;
    const scope =
      full || incremental === undefined
        ? undefined
        : {
            serviceIds: new Set(this.dirtyServices),
            nodeIds: new Set(this.dirtyNodes),
            allServices: incremental.allServices,
            nodeServices: incremental.nodeServices,
            ...(incremental.progress === false
              ? {}
              : {
                  progressed: {
                    serviceIds: new Set(this.progressedServices),
                    matters: incremental.progress,
                  },
                }),
          };
    this.full = false;
    this.dirtyServices.clear();
    this.dirtyNodes.clear();
    this.progressedServices.clear();
    return scope;
  }

  /** One pass; a pass asked for while one runs happens right after it. */
  private async pass(signal: AbortSignal): Promise<void> {
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    try {
      do {
        this.again = false;
        await this.passOnce(signal);
      } while (this.again && !signal.aborted);
    } finally {
      this.passing = false;
    }
  }

  private async passOnce(signal: AbortSignal): Promise<void> {
    if (this.options.wanted !== undefined && !this.options.wanted()) return;
    let scope = this.takeScope();
    const store = this.options.store;
    if (
      scope !== undefined &&
      scope.serviceIds.size === 0 &&
      scope.nodeIds.size === 0 &&
      (scope.progressed?.serviceIds.size ?? 0) === 0
    )
      return;
    const startMs = this.options.clock.now();
    for (let attempt = 0; attempt <= this.options.maxConflictRetries && !signal.aborted; attempt++) {
      const nowMs = this.options.clock.now();
      const view =
        scope === undefined || store.scopedView === undefined ? store.view() : store.scopedView(scope);
      const plan = this.options.step(view, {
        nowMs,
        newTaskId: this.options.newTaskId,
        random: this.options.random,
      });
      this.armWake(plan, nowMs, signal);
      if (isEmptyPlan(plan)) return;
      this.expectOwnWrites(plan);
      const outcome = await store.update(plan);
      if (outcome.kind === "committed") {
        this.batcher?.worked(this.options.clock.now() - startMs);
        this.logPlan(plan);
        return;
      }
      this.log.debug({ objectIds: outcome.objectIds, attempt }, "version conflict; reconciling again");
      // What changed meanwhile (the conflicting write among it) joins the next attempt's scope.
      this.restore(scope);
      scope = this.takeScope();
    }
    if (signal.aborted) return;
    // Given up for now: what this pass was for stays to do, and the loop looks again shortly
    // (an incremental loop may see no other change of these services for a long time).
    this.restore(scope);
    this.log.info(
      { attempts: this.options.maxConflictRetries + 1 },
      "version conflicts on every attempt; reconciling again shortly",
    );
    if (this.retryTimer === undefined)
      this.retryTimer = this.options.clock.setTimeout(() => {
        this.retryTimer = undefined;
        if (!signal.aborted) this.pass(signal).catch(() => this.stopper.abort());
      }, CONFLICT_BACKOFF_MS);
  }

  /** Puts a scope taken for a pass that did not commit back into the record of changes. */
  private restore(scope: ViewScope | undefined): void {
    if (scope === undefined) {
      this.full = true;
      return;
    }
    for (const id of scope.serviceIds) this.dirtyServices.add(id);
    for (const id of scope.nodeIds) this.dirtyNodes.add(id);
    for (const id of scope.progressed?.serviceIds ?? []) this.progressedServices.add(id);
  }

  private armWake(plan: Plan, nowMs: number, signal: AbortSignal): void {
    const at = wakeAtMs({ ...plan, timers: plan.timers.filter((t) => t.atMs > nowMs) });
    if (at === undefined || (this.wakeAt !== undefined && this.wakeAt <= at && this.wakeAt > nowMs)) return;
    if (this.wakeTimer !== undefined) this.options.clock.clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.options.clock.setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = undefined;
      this.full = true; // the timers of services outside a scoped pass are not all in this plan
      if (!signal.aborted) this.pass(signal).catch(() => this.stopper.abort());
    }, at - nowMs);
  }

  private logPlan(plan: Plan): void {
    if (!this.log.isLevelEnabled("debug")) return;
    for (const c of plan.createTasks) {
      const t = c.object;
      this.log.debug(
        { taskId: t.id, serviceId: t.serviceId, nodeId: t.nodeId, slot: t.slot },
        `create task: ${c.reason}`,
      );
    }
    for (const c of plan.updateTasks) {
      const t = c.object;
      this.log.debug({ taskId: t.id, serviceId: t.serviceId, nodeId: t.nodeId }, `update task: ${c.reason}`);
    }
    for (const r of plan.removeTasks) this.log.debug({ taskId: r.taskId }, `remove task: ${r.reason}`);
    for (const c of plan.updateNodes) this.log.debug({ nodeId: c.object.id }, `update node: ${c.reason}`);
    for (const c of plan.updateServices)
      this.log.debug({ serviceId: c.object.id }, `update service: ${c.reason}`);
  }
}
