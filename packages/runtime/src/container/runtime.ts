import { type FSWatcher, watch } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, type Logger, newId, ShoalError, systemClock, type TimerHandle } from "@shoal/base";
import { renderHosts, renderResolvConf } from "../network/resolv.js";
import { readStats } from "./cgroups.js";
import { launchConmon, readExitFile } from "./conmon.js";
import { ContainerErrorCode } from "./errors.js";
import { resolveHealthcheck } from "./health.js";
import { HealthMonitor } from "./health-monitor.js";
import { type ReadLogsOptions, readLogs, syncLogLinks } from "./log-files.js";
import { mountOverlay } from "./mounts.js";
import { buildOciSpec } from "./oci-spec.js";
import { ContainerPaths, type ContainerRecord, readRecord, writeRecord } from "./record.js";
import { Runc } from "./runc.js";
import { normalizeSignal } from "./signals.js";
import { cleanupOrphans, teardownContainer } from "./teardown.js";
import type {
  ContainerExit,
  ContainerImageSource,
  ContainerInfo,
  ContainerStats,
  CreateContainerOptions,
  LogEntry,
} from "./types.js";
import { resolveUser } from "./user.js";

export interface ContainerRuntimeOptions {
  /** Data dir of this runtime: containers/, exits/, volumes/, sock/ (and runc/ by default). */
  root: string;
  /** runc's --root; private per runtime so tests and daemons never see each other's containers. */
  runcRoot?: string;
  /** Cgroup parent for every container of this node, e.g. "/shoal/<nodeId>". */
  cgroupParent: string;
  nodeId: string;
  images: ContainerImageSource;
  logger: Logger;
  clock?: Clock;
  conmonPath?: string;
  runcPath?: string;
  /** The node's resolv.conf, the base of containers' (default /etc/resolv.conf). */
  hostResolvConfPath?: string;
  logMaxSizeBytes?: number;
  logMaxFiles?: number;
  /** How often rotated log files are linked and pruned (default 1 s). */
  logSyncIntervalMs?: number;
  /** How often `wait` and log follow look for news when no watch event came (default 50 ms). */
  pollMs?: number;
  createTimeoutMs?: number;
}

export interface StopOptions {
  /** Overrides the spec's and image's stop signal. */
  signal?: string;
  /** Overrides the spec's grace period; SIGKILL follows when it runs out. */
  graceMs?: number;
}

/** What `open` did with what it found on disk. */
export interface RecoveryReport {
  adopted: string[];
  /** Containers torn down because a create or remove was interrupted, or runc/mount leftovers. */
  cleanedUp: string[];
}

export const LABEL_TASK_ID = "com.shoal.task.id";
export const LABEL_SERVICE_ID = "com.shoal.service.id";
export const LABEL_SERVICE_NAME = "com.shoal.service.name";
export const LABEL_TASK_SLOT = "com.shoal.task.slot";
export const LABEL_NODE_ID = "com.shoal.node.id";

const DEFAULT_GRACE_MS = 10_000;
/** After SIGKILL a container is gone within milliseconds; this only guards against a wedged kernel. */
const KILL_WAIT_MS = 10_000;

/**
 * One node's containers on runc, each under its own conmon. The runtime keeps no state that
 * matters in memory: everything is in `<root>/containers/<id>/`, so a new process (after a crash
 * or an upgrade) calls `open` and carries on with the containers that kept running meanwhile.
 */
export class ContainerRuntime {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly runc: Runc;
  private readonly conmonPath: string;
  private readonly records = new Map<string, ContainerRecord>();
  private readonly health = new Map<string, HealthMonitor>();
  private readonly busy = new Set<string>();
  private readonly exitWakers = new Map<string, Set<() => void>>();
  private opened: Promise<RecoveryReport> | undefined;
  private watcher: FSWatcher | undefined;
  private logTimer: TimerHandle | undefined;
  private closed = false;
  readonly exitDir: string;
  readonly volumesDir: string;
  private readonly socketDir: string;

  constructor(private readonly opts: ContainerRuntimeOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ module: "runtime/containers" });
    this.runc = new Runc(opts.runcPath ?? "/usr/sbin/runc", opts.runcRoot ?? join(opts.root, "runc"));
    this.conmonPath = opts.conmonPath ?? "/usr/bin/conmon";
    this.exitDir = join(opts.root, "exits");
    this.volumesDir = join(opts.root, "volumes");
    this.socketDir = join(opts.root, "sock");
  }

  /** Prepares the dirs, finishes interrupted creates/removes and re-adopts running containers. */
  open(): Promise<RecoveryReport> {
    this.opened ??= this.recover();
    return this.opened;
  }

  private async recover(): Promise<RecoveryReport> {
    for (const d of [
      join(this.opts.root, "containers"),
      this.exitDir,
      this.volumesDir,
      this.socketDir,
      this.runc.root,
    ]) {
      await mkdir(d, { recursive: true });
    }
    const report: RecoveryReport = { adopted: [], cleanedUp: [] };
    for (const id of await readdir(join(this.opts.root, "containers"))) {
      const paths = this.paths(id);
      const record = await readRecord(paths);
      if (record === undefined || record.phase !== "created") {
        this.log.warn(
          { containerId: id, phase: record?.phase },
          "tearing down container left half-made or half-removed",
        );
        await teardownContainer(this.teardownDeps(), paths, record);
        report.cleanedUp.push(id);
        continue;
      }
      this.records.set(id, record);
      if (record.imageId !== undefined)
        await this.opts.images.acquire(record.imageId, id).catch(() => undefined);
      report.adopted.push(id);
    }
    report.cleanedUp.push(...(await cleanupOrphans(this.teardownDeps(), new Set(this.records.keys()))));
    this.watcher = watch(this.exitDir, (_event, file) => {
      if (typeof file === "string") for (const wake of this.exitWakers.get(file) ?? []) wake();
    });
    this.watcher.on("error", (err) =>
      this.log.warn({ err }, "exit dir watch failed; waits fall back to polling"),
    );
    for (const record of this.records.values()) {
      if (record.startedAtMs !== undefined && (await this.exitOf(record.id)) === undefined)
        this.startHealth(record);
    }
    this.scheduleLogSync();
    if (report.adopted.length > 0 || report.cleanedUp.length > 0)
      this.log.info(report, "containers recovered");
    return report;
  }

  /** Stops timers, watches and health checks. Containers keep running; a later `open` adopts them. */
  close(): void {
    this.closed = true;
    this.watcher?.close();
    if (this.logTimer !== undefined) this.clock.clearTimeout(this.logTimer);
    for (const m of this.health.values()) m.stop();
    this.health.clear();
    for (const set of this.exitWakers.values()) for (const wake of set) wake();
  }

  private paths(id: string): ContainerPaths {
    return new ContainerPaths(this.opts.root, id);
  }

  private teardownDeps() {
    return {
      runc: this.runc,
      images: this.opts.images,
      root: this.opts.root,
      exitDir: this.exitDir,
      socketDir: this.socketDir,
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
    await this.open();
    const id = o.id ?? newId();
    const paths = this.paths(id);
    try {
      await mkdir(paths.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST")
        throw new ShoalError(ContainerErrorCode.AlreadyExists, `container "${id}" already exists`);
      throw err;
    }
    const { spec, owner } = o;
    const network = o.network ?? { kind: "none" };
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
      network,
      cgroupsPath: `${this.opts.cgroupParent.replace(/\/+$/, "")}/${id}`,
      logMaxSizeBytes: o.logs?.maxSizeBytes ?? this.opts.logMaxSizeBytes ?? 10 * 1024 * 1024,
      logMaxFiles: o.logs?.maxFiles ?? this.opts.logMaxFiles ?? 3,
      createdAtMs: this.clock.now(),
      stopSignal: "SIGTERM",
      stopGracePeriodMs: spec.stopGracePeriodMs ?? DEFAULT_GRACE_MS,
      execUser: "0:0",
      execEnv: [],
      execCwd: "/",
    };
    this.busy.add(id);
    try {
      // Written before anything else exists, so a crash from here on is found and undone by `open`.
      await writeRecord(paths, record);
      const image = await this.opts.images.acquire(spec.image, id);
      record.imageId = image.id;
      await writeRecord(paths, record);
      await Promise.all([mkdir(paths.rootfs), mkdir(paths.upper), mkdir(paths.work)]);
      await mountOverlay(image.layerDirs, paths.upper, paths.work, paths.rootfs);
      const [passwd, group, hostResolv] = await Promise.all([
        readFile(join(paths.rootfs, "etc/passwd"), "utf8").catch(() => undefined),
        readFile(join(paths.rootfs, "etc/group"), "utf8").catch(() => undefined),
        readFile(this.opts.hostResolvConfPath ?? "/etc/resolv.conf", "utf8").catch(() => ""),
      ]);
      const user = resolveUser(spec.user ?? image.config.user ?? "", passwd, group);
      const hostname = spec.hostname ?? id.slice(0, 12);
      // Without an address from the network side the hostname must still resolve (sudo, JVMs
      // look it up), so it goes on 127.0.1.1 as Debian does for a host's own name.
      const ip = (network.kind === "netns" ? network.ip : undefined) ?? "127.0.1.1";
      const extraHosts = network.kind === "host" ? [] : (network.extraHosts ?? []);
      const resolv = network.kind === "host" ? hostResolv : renderResolvConf(hostResolv, network.dns);
      await Promise.all([
        writeFile(paths.hosts, renderHosts(hostname, ip, extraHosts)),
        writeFile(paths.hostname, `${hostname}\n`),
        writeFile(paths.resolvConf, resolv),
        ...(spec.mounts ?? [])
          .filter((m) => m.kind === "volume")
          .map((m) => mkdir(join(this.volumesDir, m.name), { recursive: true })),
      ]);
      const oci = buildOciSpec({
        spec,
        image: image.config,
        user,
        rootfsPath: paths.rootfs,
        hostname,
        etcFiles: { hosts: paths.hosts, hostname: paths.hostname, resolvConf: paths.resolvConf },
        network,
        cgroupsPath: record.cgroupsPath,
        volumesDir: this.volumesDir,
        annotations: { ...labels, "com.shoal.container.name": record.name },
      });
      const health = resolveHealthcheck(spec.healthcheck, image.config.healthcheck);
      if (health !== undefined) record.healthcheck = health;
      record.stopSignal = normalizeSignal(spec.stopSignal ?? image.config.stopSignal ?? "SIGTERM");
      record.execUser = `${user.uid}:${user.gid}`;
      record.execEnv = oci.process.env;
      record.execCwd = oci.process.cwd;
      await writeFile(paths.config, JSON.stringify(oci));
      const { pid } = await launchConmon({
        conmonPath: this.conmonPath,
        runcPath: this.runc.runcPath,
        runcRoot: this.runc.root,
        id,
        name: record.name,
        bundleDir: paths.dir,
        pidFile: paths.pidFile,
        conmonPidFile: paths.conmonPidFile,
        logPath: paths.log,
        logMaxSizeBytes: record.logMaxSizeBytes,
        exitDir: this.exitDir,
        persistDir: paths.dir,
        socketDir: this.socketDir,
        stderrPath: paths.conmonStderr,
        timeoutMs: this.opts.createTimeoutMs ?? 30_000,
      });
      record.pid = pid;
      record.phase = "created";
      await writeRecord(paths, record);
      this.records.set(id, record);
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
    await this.open();
    const record = this.record(id);
    if (record.startedAtMs !== undefined)
      throw new ShoalError(ContainerErrorCode.InvalidState, `container "${id}" was already started`);
    await this.runc.start(id);
    record.startedAtMs = this.clock.now();
    await writeRecord(this.paths(id), record);
    this.startHealth(record);
    return this.info(record);
  }

  private startHealth(record: ContainerRecord): void {
    const check = record.healthcheck;
    if (check === undefined || record.startedAtMs === undefined || this.health.has(record.id) || this.closed)
      return;
    const monitor = new HealthMonitor({
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
    });
    this.health.set(record.id, monitor);
    monitor.run();
  }

  private stopHealth(id: string): void {
    this.health.get(id)?.stop();
    this.health.delete(id);
  }

  /** The exit as conmon recorded it, or undefined while the container runs. */
  private async exitOf(id: string): Promise<ContainerExit | undefined> {
    const exitPath = join(this.exitDir, id);
    const paths = this.paths(id);
    const code = (await readExitFile(exitPath)) ?? (await readExitFile(paths.exitFile));
    if (code === undefined) return this.lostExit(id);
    const st = await stat(exitPath).catch(() => stat(paths.exitFile));
    const oomKilled = await stat(paths.oomFile).then(
      () => true,
      () => false,
    );
    return { exitCode: code, oomKilled, finishedAtMs: st.mtimeMs };
  }

  /**
   * A container whose conmon was killed (by hand, by the OOM killer) never gets an exit file.
   * When both conmon and the container's init are gone, report the exit as unknown (255, as
   * Docker does) instead of "running" forever.
   */
  private async lostExit(id: string): Promise<ContainerExit | undefined> {
    const record = this.records.get(id);
    if (record?.pid === undefined || (await isAlive(record.pid))) return undefined;
    const conmonPid = Number((await readFile(this.paths(id).conmonPidFile, "utf8").catch(() => "")).trim());
    if (conmonPid > 0 && (await isAlive(conmonPid))) return undefined;
    // conmon may have written the file just before exiting.
    const code =
      (await readExitFile(join(this.exitDir, id))) ?? (await readExitFile(this.paths(id).exitFile));
    if (code !== undefined) return this.exitOf(id);
    return { exitCode: 255, oomKilled: false, finishedAtMs: this.clock.now() };
  }

  private async info(record: ContainerRecord): Promise<ContainerInfo> {
    const exit = await this.exitOf(record.id);
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
    await this.open();
    return this.info(this.record(id));
  }

  /** Every container of this runtime, including those that exited while no runtime process ran. */
  async list(): Promise<ContainerInfo[]> {
    await this.open();
    return Promise.all([...this.records.values()].map((r) => this.info(r)));
  }

  /** Resolves when the container has exited (at once if it already has). */
  async wait(id: string, signal?: AbortSignal): Promise<ContainerExit> {
    await this.open();
    this.record(id);
    for (;;) {
      const exit = await this.exitOf(id);
      if (exit !== undefined) return exit;
      if (signal?.aborted) throw signal.reason;
      if (this.closed)
        throw new ShoalError(
          ContainerErrorCode.InvalidState,
          `runtime closed while waiting for container "${id}"`,
        );
      await this.nextExitEvent(id, this.opts.pollMs ?? 50, signal);
    }
  }

  private nextExitEvent(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.exitWakers.get(id) ?? new Set();
      this.exitWakers.set(id, set);
      const wake = () => {
        this.clock.clearTimeout(timer);
        signal?.removeEventListener("abort", wake);
        set.delete(wake);
        if (set.size === 0) this.exitWakers.delete(id);
        resolve();
      };
      const timer = this.clock.setTimeout(wake, timeoutMs);
      set.add(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  private async waitFor(id: string, timeoutMs: number): Promise<ContainerExit | undefined> {
    const ac = new AbortController();
    const timer = this.clock.setTimeout(() => ac.abort(new Error("timeout")), timeoutMs);
    try {
      return await this.wait(id, ac.signal);
    } catch (err) {
      if (ac.signal.aborted) return undefined;
      throw err;
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /**
   * Stop signal (option, then spec, then image STOPSIGNAL, then SIGTERM), up to the grace period to
   * exit, then SIGKILL. Returns how it exited.
   */
  async stop(id: string, o: StopOptions = {}): Promise<ContainerExit> {
    await this.open();
    const record = this.record(id);
    const done = await this.exitOf(id);
    if (done !== undefined) return done;
    this.stopHealth(id);
    if (record.startedAtMs === undefined) {
      // A created container's process is still runc's init, which does not act on stop signals.
      await this.runc.kill(id, "SIGKILL");
    } else {
      const signal = normalizeSignal(o.signal ?? record.stopSignal);
      const graceMs = o.graceMs ?? record.stopGracePeriodMs;
      this.log.info({ containerId: id, signal, graceMs }, "stopping container");
      if (await this.runc.kill(id, signal)) {
        const exit = await this.waitFor(id, graceMs);
        if (exit !== undefined) return exit;
        this.log.info({ containerId: id, graceMs }, "grace period over; killing container");
      }
      await this.runc.kill(id, "SIGKILL", true);
    }
    const exit = await this.waitFor(id, KILL_WAIT_MS);
    if (exit === undefined)
      throw new ShoalError(
        ContainerErrorCode.CommandFailed,
        `container "${id}" did not exit within ${KILL_WAIT_MS} ms of SIGKILL`,
      );
    return exit;
  }

  /** Sends a signal without waiting (SIGHUP for reloads and the like). */
  async kill(id: string, signal: string): Promise<void> {
    await this.open();
    this.record(id);
    await this.runc.kill(id, normalizeSignal(signal));
  }

  /**
   * Removes the container completely: process (killed if still running), runc state, cgroups,
   * rootfs mount, bundle, logs, and the image hold. Removing an unknown id is a no-op.
   */
  async remove(id: string): Promise<void> {
    await this.open();
    const paths = this.paths(id);
    const record = this.records.get(id) ?? (await readRecord(paths));
    this.stopHealth(id);
    if (record !== undefined) {
      record.phase = "removing";
      await writeRecord(paths, record).catch(() => undefined);
    }
    await teardownContainer(this.teardownDeps(), paths, record);
    this.records.delete(id);
    for (const wake of this.exitWakers.get(id) ?? []) wake();
    this.log.info({ containerId: id }, "container removed");
  }

  /** The container's log (JSON-lines fields), optionally following until it exits. */
  async *logs(id: string, o: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
    await this.open();
    const record = this.record(id);
    yield* readLogs(this.paths(id).log, o, {
      clock: this.clock,
      pollMs: Math.max(this.opts.pollMs ?? 50, 100),
      maxFiles: record.logMaxFiles,
      hasExited: async () => !this.records.has(id) || (await this.exitOf(id)) !== undefined,
    });
  }

  async stats(id: string): Promise<ContainerStats> {
    await this.open();
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
    await this.open();
    const record = this.record(id);
    if ((await this.exitOf(id)) !== undefined || record.startedAtMs === undefined) {
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
      void (async () => {
        for (const r of this.records.values()) {
          if (this.busy.has(r.id)) continue;
          await syncLogLinks(this.paths(r.id).log, r.logMaxFiles).catch(() => undefined);
        }
        this.scheduleLogSync();
      })();
    }, this.opts.logSyncIntervalMs ?? 1000);
  }
}

/** A zombie counts as dead: whoever reaps it (pid 1 once conmon is gone) may take its time. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
