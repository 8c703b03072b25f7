import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, type Logger, newId, ShoalError, type TimerHandle } from "@shoal/base";
import { hasCode, ignoring } from "../ignore.js";
import { readStats } from "./cgroups.js";
import { crashPoint, CrashPoint as Step } from "./crash-points.js";
import { ContainerErrorCode } from "./errors.js";
import { ExitWatcher } from "./exit-watcher.js";
import { HealthMonitor } from "./health-monitor.js";
import { type ReadLogsOptions, readLogs } from "./log-files.js";
import { LogRotator } from "./log-rotator.js";
import { type PrepareDeps, prepareContainer } from "./prepare.js";
import { identify, isAlive } from "./process-identity.js";
import {
  ContainerPaths,
  type ContainerRecord,
  readHealth,
  readRecord,
  writeHealth,
  writeRecord,
} from "./record.js";
import { emptyRecoveryReport, type RecoveryReport, recoverContainers } from "./recovery.js";
import { RootLock } from "./root-lock.js";
import { Runc } from "./runc.js";
import {
  type ContainerRuntimeOptions,
  DEFAULT_STOP_GRACE_MS,
  LOG_FOLLOW_MIN_POLL_MS,
  type ResolvedOptions,
  resolveOptions,
} from "./runtime-options.js";
import { normalizeSignal } from "./signals.js";
import { type TeardownDeps, teardownContainer } from "./teardown.js";
import type {
  ContainerExit,
  ContainerInfo,
  ContainerStats,
  CreateContainerOptions,
  HealthReport,
  LogEntry,
} from "./types.js";

export interface StopOptions {
  /** Overrides the spec's and image's stop signal. */
  signal?: string;
  /** Overrides the spec's grace period; SIGKILL follows when it runs out. */
  graceMs?: number;
}

export const LABEL_TASK_ID = "com.shoal.task.id";
export const LABEL_SERVICE_ID = "com.shoal.service.id";
export const LABEL_SERVICE_NAME = "com.shoal.service.name";
export const LABEL_TASK_SLOT = "com.shoal.task.slot";
export const LABEL_NODE_ID = "com.shoal.node.id";

/** After SIGKILL a container is gone within milliseconds; this only guards against a wedged kernel. */
const KILL_WAIT_MS = 10_000;

/**
 * One node's containers on runc, each under its own conmon. The runtime keeps no state that
 * matters in memory: everything is in `<root>/containers/<id>/`, so a new process (after a crash
 * or an upgrade) calls `open` and carries on with the containers that kept running meanwhile.
 *
 * Life cycle: `await ContainerRuntime.open(options)` takes the data dir's lock, finishes what a
 * crash interrupted and re-adopts the rest (`recovery` says what it did); `await close()` stops
 * timers, watches and health checks and releases the lock. Containers outlive both.
 */
export class ContainerRuntime {
  private readonly opts: ResolvedOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly runc: Runc;
  private readonly records = new Map<string, ContainerRecord>();
  private readonly health = new Map<string, HealthMonitor>();
  private readonly busy = new Set<string>();
  private readonly exits: ExitWatcher;
  private lock: RootLock | undefined;
  private logTimer: TimerHandle | undefined;
  private readonly logRotator: LogRotator;
  private closed = false;
  private report: RecoveryReport = emptyRecoveryReport();
  readonly exitDir: string;
  readonly volumesDir: string;
  private readonly socketDir: string;

  private constructor(options: ContainerRuntimeOptions) {
    this.opts = resolveOptions(options);
    this.clock = this.opts.clock;
    this.log = this.opts.logger.child({ module: "runtime/containers" });
    this.runc = new Runc(this.opts.runcPath, this.opts.runcRoot);
    this.logRotator = new LogRotator(this.log);
    this.exitDir = join(this.opts.root, "exits");
    this.volumesDir = join(this.opts.root, "volumes");
    this.socketDir = join(this.opts.root, "sock");
    this.exits = new ExitWatcher({
      exitDir: this.exitDir,
      clock: this.clock,
      logger: this.log,
      pollMs: this.opts.pollMs,
      paths: (id) => this.paths(id),
      initProcess: (id) => {
        const r = this.records.get(id);
        return r?.pidIdentity ?? r?.pid;
      },
    });
  }

  /**
   * Takes the data dir's lock (`CONTAINER_ROOT_IN_USE` when another live runtime holds it), then
   * finishes interrupted creates, starts and removes, and re-adopts the containers on disk.
   */
  static async open(options: ContainerRuntimeOptions): Promise<ContainerRuntime> {
    const rt = new ContainerRuntime(options);
    try {
      await rt.recover();
    } catch (err) {
      await rt.close();
      throw err;
    }
    return rt;
  }

  private async recover(): Promise<void> {
    for (const d of [
      join(this.opts.root, "containers"),
      this.exitDir,
      this.volumesDir,
      this.socketDir,
      this.runc.root,
    ]) {
      await mkdir(d, { recursive: true });
    }
    this.lock = await RootLock.acquire(join(this.opts.root, "owner.lock"), this.opts.root);
    const { report, records } = await recoverContainers({
      root: this.opts.root,
      runc: this.runc,
      images: this.opts.images,
      clock: this.clock,
      logger: this.log,
      teardown: this.teardownDeps(),
    });
    for (const [id, record] of records) this.records.set(id, record);
    this.exits.watch();
    for (const record of this.records.values()) {
      if (record.startedAtMs !== undefined && (await this.exits.exitOf(record.id)) === undefined)
        this.startHealth(record, await readHealth(this.paths(record.id)));
    }
    this.scheduleLogSync();
    if (report.adopted.length > 0 || report.cleanedUp.length > 0 || report.releasedHolds.length > 0)
      this.log.info(report, "containers recovered");
    this.report = report;
  }

  /** What `open` found on disk and did about it; empty lists on a fresh data dir. */
  get recovery(): RecoveryReport {
    return this.report;
  }

  /**
   * Stops timers, watches and health checks and releases the data dir's lock; later calls fail
   * with `CONTAINER_RUNTIME_CLOSED`. Containers keep running; a later `open` adopts them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.exits.close();
    if (this.logTimer !== undefined) this.clock.clearTimeout(this.logTimer);
    this.logRotator.close();
    for (const m of this.health.values()) m.stop();
    this.health.clear();
    await this.lock?.release();
    this.lock = undefined;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new ShoalError(ContainerErrorCode.Closed, `container runtime "${this.opts.root}" is closed`);
  }

  private paths(id: string): ContainerPaths {
    return new ContainerPaths(this.opts.root, id);
  }

  private teardownDeps(): TeardownDeps {
    return {
      crashAt: this.opts.crashAt,
      runc: this.runc,
      images: this.opts.images,
      root: this.opts.root,
      exitDir: this.exitDir,
      socketDir: this.socketDir,
      cgroupParent: this.opts.cgroupParent,
      logger: this.log,
    };
  }

  private prepareDeps(): PrepareDeps {
    return {
      images: this.opts.images,
      runc: this.runc,
      conmonPath: this.opts.conmonPath,
      initPath: this.opts.initPath,
      exitDir: this.exitDir,
      socketDir: this.socketDir,
      volumesDir: this.volumesDir,
      hostResolvConfPath: this.opts.hostResolvConfPath,
      createTimeoutMs: this.opts.createTimeoutMs,
      cgroupParent: this.opts.cgroupParent,
      logger: this.log,
    };
  }

  private record(id: string): ContainerRecord {
    const r = this.records.get(id);
    if (r === undefined) throw new ShoalError(ContainerErrorCode.NotFound, `container "${id}" not found`);
    return r;
  }

  /** Makes the bundle and the rootfs and runs `runc create` under conmon; the process waits for `start`. */
  async create(o: CreateContainerOptions): Promise<ContainerInfo> {
    // Awaited right before `runc create`; a failure of this create before that (or a refusal
    // below) must not leave its rejection unhandled.
    o.networkReady?.catch(() => undefined);
    this.assertOpen();
    const id = o.id ?? newId();
    // The id names a directory, a runc container and a cgroup: nothing that could escape them.
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) {
      throw new ShoalError(
        ContainerErrorCode.InvalidSpec,
        `container id "${id}" must be 1-128 characters of [A-Za-z0-9_.-]`,
      );
    }
    const paths = this.paths(id);
    try {
      await mkdir(paths.dir);
    } catch (err) {
      if (hasCode(err, ["EEXIST"]))
        throw new ShoalError(ContainerErrorCode.AlreadyExists, `container "${id}" already exists`);
      throw err;
    }
    const { spec, owner } = o;
    const labels: Record<string, string> = {
      ...spec.labels,
      [LABEL_TASK_ID]: owner.taskId,
      [LABEL_SERVICE_ID]: owner.serviceId,
      [LABEL_NODE_ID]: this.opts.nodeId,
    };
    if (owner.serviceName !== undefined) labels[LABEL_SERVICE_NAME] = owner.serviceName;
    if (owner.slot !== undefined) labels[LABEL_TASK_SLOT] = String(owner.slot);
    const record: ContainerRecord = {
      version: 1,
      id,
      // Swarm's naming: <service>.<slot or node>.<task>, so `ps` output maps back to tasks.
      name: `${owner.serviceName ?? owner.serviceId}.${owner.slot ?? this.opts.nodeId}.${owner.taskId}`,
      labels,
      phase: "creating",
      imageRef: spec.image,
      spec,
      network: o.network ?? { kind: "none" },
      cgroupsPath: `${this.opts.cgroupParent.replace(/\/+$/, "")}/${id}`,
      logMaxSizeBytes: o.logs?.maxSizeBytes ?? this.opts.logMaxSizeBytes,
      logMaxFiles: o.logs?.maxFiles ?? this.opts.logMaxFiles,
      createdAtMs: this.clock.now(),
      stopSignal: "SIGTERM",
      stopGracePeriodMs: spec.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS,
      execUser: "0:0",
      execEnv: [],
      execCwd: "/",
    };
    this.busy.add(id);
    try {
      // Written before anything else exists, so a crash from here on is found and undone by `open`.
      await writeRecord(paths, record);
      await prepareContainer(this.prepareDeps(), paths, record, o.files, o.networkReady);
      if (record.pid !== undefined) {
        const who = await identify(record.pid);
        if (who !== undefined) record.pidIdentity = who;
      }
      crashPoint(this.opts.crashAt, Step.CreateAfterConmon);
      record.phase = "created";
      await writeRecord(paths, record);
      this.records.set(id, record);
      this.watchLog(record);
      this.log.info({ containerId: id, name: record.name, taskId: owner.taskId }, "container created");
      return this.info(record);
    } catch (err) {
      this.log.warn({ containerId: id, err }, "container create failed; undoing");
      await teardownContainer(this.teardownDeps(), paths, record).catch((e: unknown) =>
        this.log.error({ containerId: id, err: e }, "undoing a failed create failed"),
      );
      throw err;
    } finally {
      this.busy.delete(id);
    }
  }

  /** Lets the created container's process run. */
  async start(id: string): Promise<ContainerInfo> {
    this.assertOpen();
    const record = this.record(id);
    if (record.startedAtMs !== undefined)
      throw new ShoalError(ContainerErrorCode.InvalidState, `container "${id}" was already started`);
    const paths = this.paths(id);
    // Intent first: a crash from here until the second write is settled by `open` with runc state.
    record.startRequestedAtMs = this.clock.now();
    await writeRecord(paths, record);
    crashPoint(this.opts.crashAt, Step.StartAfterIntent);
    try {
      if (record.pid !== undefined) await this.runc.startViaFifo(id, record.pid);
      else await this.runc.start(id);
    } catch (err) {
      delete record.startRequestedAtMs;
      await writeRecord(paths, record);
      throw err;
    }
    crashPoint(this.opts.crashAt, Step.StartAfterRun);
    record.startedAtMs = this.clock.now();
    await writeRecord(paths, record);
    this.startHealth(record);
    return this.info(record);
  }

  private startHealth(record: ContainerRecord, initial?: HealthReport): void {
    const check = record.healthcheck;
    if (check === undefined || record.startedAtMs === undefined || this.health.has(record.id) || this.closed)
      return;
    let lastStatus: HealthReport["status"] = initial?.status ?? "starting";
    const paths = this.paths(record.id);
    const monitor = new HealthMonitor({
      ...(initial !== undefined ? { initial } : {}),
      check,
      clock: this.clock,
      logger: this.log.child({ containerId: record.id }),
      startedAtMs: record.startedAtMs,
      probe: (argv, timeoutMs) =>
        this.runc.exec(record.id, argv, {
          user: record.execUser,
          cwd: record.execCwd,
          env: record.execEnv,
          timeoutMs,
          pidFile: join(this.paths(record.id).dir, `exec-${newId()}.pid`),
        }),
      onChange: (report) => {
        if (!this.busy.has(record.id) && !this.closed) {
          writeHealth(paths, report).catch((err: unknown) =>
            this.log.warn({ containerId: record.id, err }, "health report not saved"),
          );
        }
        if (report.status === lastStatus) return;
        lastStatus = report.status;
        this.opts.onHealthChange?.(record.id, report);
      },
    });
    this.health.set(record.id, monitor);
    monitor.run();
  }

  private stopHealth(id: string): void {
    this.health.get(id)?.stop();
    this.health.delete(id);
  }

  private async info(record: ContainerRecord): Promise<ContainerInfo> {
    const exit = await this.exits.exitOf(record.id);
    const info: ContainerInfo = {
      id: record.id,
      name: record.name,
      labels: record.labels,
      imageRef: record.imageRef,
      imageId: record.imageId ?? "",
      state: exit !== undefined ? "exited" : record.startedAtMs !== undefined ? "running" : "created",
      createdAtMs: record.createdAtMs,
      cgroupPath: record.cgroupsPath,
      logPath: this.paths(record.id).log,
    };
    if (record.startedAtMs !== undefined) info.startedAtMs = record.startedAtMs;
    if (record.pid !== undefined) info.pid = record.pid;
    if (exit !== undefined) {
      info.exit = exit;
      this.stopHealth(record.id);
    }
    const health = this.health.get(record.id)?.current();
    if (health !== undefined) info.health = health;
    return info;
  }

  async inspect(id: string): Promise<ContainerInfo> {
    this.assertOpen();
    return this.info(this.record(id));
  }

  /** Every container of this runtime, including those that exited while no runtime process ran. */
  async list(): Promise<ContainerInfo[]> {
    this.assertOpen();
    return Promise.all([...this.records.values()].map((r) => this.info(r)));
  }

  /** Resolves when the container has exited (at once if it already has). */
  async wait(id: string, signal?: AbortSignal): Promise<ContainerExit> {
    this.assertOpen();
    this.record(id);
    return this.exits.wait(id, signal);
  }

  /**
   * Stop signal (option, then spec, then image STOPSIGNAL, then SIGTERM), up to the grace period to
   * exit, then SIGKILL. Returns how it exited.
   */
  async stop(id: string, o: StopOptions = {}): Promise<ContainerExit> {
    this.assertOpen();
    const record = this.record(id);
    const done = await this.exits.exitOf(id);
    if (done !== undefined) return done;
    this.stopHealth(id);
    // A start whose record was not written yet (in flight, or interrupted before an open could
    // settle it) still gets its grace period when runc says the process runs.
    const started = record.startedAtMs !== undefined || (await this.runc.state(id))?.status === "running";
    if (!started) {
      // A created container's process is still runc's init, which does not act on stop signals.
      await this.runc.kill(id, "SIGKILL");
    } else {
      const signal = normalizeSignal(o.signal ?? record.stopSignal);
      const graceMs = o.graceMs ?? record.stopGracePeriodMs;
      this.log.info({ containerId: id, signal, graceMs }, "stopping container");
      if (await this.signalInit(record, signal)) {
        const exit = await this.exits.waitFor(id, graceMs);
        if (exit !== undefined) return exit;
        this.log.info({ containerId: id, graceMs }, "grace period over; killing container");
      }
      // The init of the container's own PID namespace: the kernel kills the rest with it.
      if (!(await this.signalInit(record, "SIGKILL"))) await this.runc.kill(id, "SIGKILL", true);
    }
    const exit = await this.exits.waitFor(id, KILL_WAIT_MS);
    if (exit === undefined)
      throw new ShoalError(
        ContainerErrorCode.CommandFailed,
        `container "${id}" did not exit within ${KILL_WAIT_MS} ms of SIGKILL`,
      );
    return exit;
  }

  /**
   * Signals a started container's init process straight, as `runc kill` would (each container has
   * a PID namespace of its own): no runc process per signal, two per stop of a task that ignores
   * SIGTERM. False when the process is gone (or its pid is another's now); without a recorded
   * identity (a record older than identities) runc does it.
   */
  private async signalInit(record: ContainerRecord, signal: string): Promise<boolean> {
    const who = record.pidIdentity;
    if (who === undefined) return this.runc.kill(record.id, signal);
    if (!(await isAlive(who))) return false;
    try {
      process.kill(who.pid, signal as NodeJS.Signals);
      return true;
    } catch (err) {
      if (hasCode(err, ["ESRCH"])) return false;
      throw err;
    }
  }

  /** Sends a signal without waiting (SIGHUP for reloads and the like). */
  async kill(id: string, signal: string): Promise<void> {
    this.assertOpen();
    this.record(id);
    await this.runc.kill(id, normalizeSignal(signal));
  }

  /**
   * Removes the container completely: process (killed if still running), runc state, cgroups,
   * rootfs mount, bundle, logs, and the image hold. Removing an unknown id is a no-op.
   */
  async remove(id: string): Promise<void> {
    this.assertOpen();
    const paths = this.paths(id);
    const record = this.records.get(id) ?? (await readRecord(paths));
    this.stopHealth(id);
    this.logRotator.unwatch(id);
    // Busy keeps the log-link timer out of a directory that is being deleted.
    this.busy.add(id);
    try {
      if (record !== undefined) {
        record.phase = "removing";
        // The dir may be gone already (a remove that got that far before a crash).
        await ignoring(writeRecord(paths, record), ["ENOENT"], undefined);
      }
      crashPoint(this.opts.crashAt, Step.RemoveAfterMark);
      await teardownContainer(this.teardownDeps(), paths, record);
      this.records.delete(id);
    } finally {
      this.busy.delete(id);
    }
    this.exits.wake(id);
    this.log.info({ containerId: id }, "container removed");
  }

  /** The container's log (JSON-lines fields), optionally following until it exits. */
  async *logs(id: string, o: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
    this.assertOpen();
    this.record(id);
    yield* readLogs(this.paths(id).log, o, {
      clock: this.clock,
      pollMs: Math.max(this.opts.pollMs, LOG_FOLLOW_MIN_POLL_MS),
      hasExited: async () =>
        this.closed || !this.records.has(id) || (await this.exits.exitOf(id)) !== undefined,
    });
  }

  async stats(id: string): Promise<ContainerStats> {
    this.assertOpen();
    const record = this.record(id);
    const stats = await readStats(record.cgroupsPath, this.clock.now());
    if (stats === undefined)
      throw new ShoalError(ContainerErrorCode.InvalidState, `container "${id}" has no cgroup (not running)`);
    return stats;
  }

  /** Runs a command inside the running container as its user, with its env and working dir. */
  async exec(
    id: string,
    argv: string[],
    o: { timeoutMs?: number } = {},
  ): Promise<{ exitCode: number; output: string }> {
    this.assertOpen();
    const record = this.record(id);
    if ((await this.exits.exitOf(id)) !== undefined || record.startedAtMs === undefined) {
      throw new ShoalError(ContainerErrorCode.InvalidState, `container "${id}" is not running`);
    }
    return this.runc.exec(id, argv, {
      user: record.execUser,
      cwd: record.execCwd,
      env: record.execEnv,
      pidFile: join(this.paths(id).dir, `exec-${newId()}.pid`),
      ...o,
    });
  }

  private scheduleLogSync(): void {
    if (this.closed) return;
    this.logTimer = this.clock.setTimeout(() => {
      const live = new Set<string>();
      for (const r of this.records.values()) {
        if (this.busy.has(r.id)) continue;
        live.add(r.id);
        this.watchLog(r);
      }
      this.logRotator.retain(live);
      this.scheduleLogSync();
    }, this.opts.logSyncIntervalMs);
  }

  private watchLog(r: ContainerRecord): void {
    const p = this.paths(r.id);
    this.logRotator.watch(r.id, p.log, {
      ctlPath: join(p.dir, "ctl"),
      maxSizeBytes: r.logMaxSizeBytes,
      maxFiles: r.logMaxFiles,
    });
  }
}
