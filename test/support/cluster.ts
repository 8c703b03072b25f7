// A real Shoal cluster for end-to-end tests: testkit hosts (network namespaces on a private
// switch), one registry host serving the busybox fixture, and one `shoal daemon` process per node
// host (the built command as installed, `packages/cli/bin/shoal.js daemon`), driven through each
// host's admin socket with the built `shoal` command, as a user would. Daemon logs go to the work
// dir, or to $SHOAL_E2E_LOG_DIR (kept after the test) when it is set.
//
//   const cluster = await startCluster({ managers: 1, workers: 2 });
//   await cluster.manager.shoalOk(["service", "create", "--name", "web", "--replicas", "4", cluster.image, ...]);
//   const tasks = await cluster.waitForRunning("web", 4);
//   await cluster.destroy();                       // in afterAll, also after a failure
//   expect(await cluster.leftovers()).toEqual([]); // no process, mount, cgroup, netns behind
import { type ChildProcess, execFile } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { readdir, readFile, rm, rmdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { silentLogger } from "@shoal/base";
import { daemonLayout } from "@shoal/daemon";
import { ContainerRuntime, LABEL_SERVICE_NAME, LocalImageStore } from "@shoal/runtime";
import {
  buildBusyboxImage,
  type FixtureImage,
  startRegistry,
  type TestRegistry,
  writeOciLayout,
} from "@shoal/runtime/testing";
import { createHosts, type TempDir, type TestHost, type TestHosts, tempDir, waitFor } from "@shoal/testkit";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../..", import.meta.url));
/**
 * The shipped command, the `shoal` users run: the daemon and the CLI both come from it. It runs
 * the bundle `npm run build` writes (BUILT_BUNDLE).
 */
export const BUILT_CLI = join(repo, "packages/cli/bin/shoal.js");
const BUILT_BUNDLE = join(repo, "packages/cli/dist/shoal.js");
/** Where daemons listen inside their hosts. */
export const CLUSTER_PORT = 4270;
/** Where daemons serve /metrics inside their hosts (with `metrics: true`). */
const METRICS_PORT = 9323;
/** The busybox fixture's reference inside the registry host. */
const IMAGE_PATH = "fixtures/busybox:1";
/** SIGTERM → SIGKILL grace of a daemon stop; a leader's handover takes up to 3 s. */
const STOP_GRACE_MS = 20_000;

/** A busybox httpd as a service command: `service create … IMAGE ...HTTPD_COMMAND`. */
export const HTTPD_COMMAND = [
  "sh",
  "-c",
  'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www',
];

export interface ShoalResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A task as `shoal --format json service ps` prints it (the fields tests look at). */
export interface TaskJson {
  id: string;
  serviceId: string;
  nodeId: string;
  slot?: number;
  desiredState: string;
  status?: {
    state?: string;
    err?: string;
    message?: string;
    containerStatus?: { containerId?: string; pid?: number; exitCode?: number };
  };
}

/** A runc container as `runc list --format json` shows it. */
export interface RuncContainer {
  id: string;
  pid: number;
  status: string;
  annotations?: Record<string, string>;
}

export class TestDaemon {
  /** Set once the node is in a cluster (init or join). */
  nodeId: string | undefined;
  /** The role it joined with. */
  role: "manager" | "worker" | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private startCount = 0;

  constructor(
    readonly host: TestHost,
    readonly dataDir: string,
    readonly socketPath: string,
    readonly logPath: string,
    private readonly registryHost: string,
    /** The node's container subnet (bridge networking), or undefined for loopback-only containers. */
    readonly nodeSubnet: string | undefined,
    /** `--heartbeat-ms` of the daemon (managers use it), or the default 1 s. */
    private readonly heartbeatMs: number | undefined,
    /** Whether the daemon serves `/metrics` (`--metrics-addr`, at `metricsUrl`). */
    private readonly metrics = false,
  ) {}

  /** `http://ADDR:9323/metrics` when the cluster was started with `metrics: true`. */
  get metricsUrl(): string | undefined {
    return this.metrics ? `http://${this.host.address}:${METRICS_PORT}/metrics` : undefined;
  }

  get name(): string {
    return this.host.name;
  }

  /** The cluster address other nodes dial. */
  get address(): string {
    return `${this.host.address}:${CLUSTER_PORT}`;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** runc's state dir for this node's containers. */
  get runcRoot(): string {
    return join(this.dataDir, "containers", "runc");
  }

  /** Starts the daemon process in its host; resolves once its admin socket answers. */
  async start(): Promise<void> {
    if (this.pid !== undefined) throw new Error(`daemon ${this.name} is already running`);
    this.startCount++;
    const log = openSync(this.logPath, "a");
    const args = [
      "daemon",
      "--data-dir",
      this.dataDir,
      "--socket",
      this.socketPath,
      "--listen",
      `${this.host.address}:${CLUSTER_PORT}`,
      "--advertise",
      this.address,
      "--insecure-registry",
      this.registryHost,
      "--hostname",
      this.name,
      ...(this.nodeSubnet === undefined ? [] : ["--node-subnet", this.nodeSubnet]),
      ...(this.heartbeatMs === undefined ? [] : ["--heartbeat-ms", String(this.heartbeatMs)]),
      ...(this.metrics ? ["--metrics-addr", `${this.host.address}:${METRICS_PORT}`] : []),
    ];
    // The bin itself, not `node bin/shoal.js`: its #! line carries the daemon's V8 flags.
    const child = this.host.spawn(BUILT_CLI, args, {
      stdio: ["ignore", log, log],
      env: { ...process.env, SHOAL_LOG_LEVEL: process.env.SHOAL_LOG_LEVEL ?? "info" },
    });
    closeSync(log);
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
    });
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `daemon ${this.name} exited (${child.exitCode ?? child.signalCode}): ${await this.logTail()}`,
          );
        }
        return socketAnswers(this.socketPath);
      },
      { description: `daemon ${this.name}'s admin socket (start ${this.startCount})`, timeoutMs: 60_000 },
    );
  }

  /** SIGTERM (graceful: containers keep running) and waits for the process to end. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || this.pid === undefined) return;
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    child.kill("SIGTERM");
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL of the daemon alone (its containers and their conmons keep running). */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || this.pid === undefined) return;
    child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGKILL of the daemon and then of every container it ran (a node that dies with its tasks). */
  async killWithContainers(): Promise<void> {
    await this.kill();
    for (const c of await this.containers()) {
      if (c.status === "running")
        await run("runc", ["--root", this.runcRoot, "kill", c.id, "KILL"]).catch(() => {});
    }
  }

  /** Runs the built `shoal` against this daemon's admin socket. Never throws on a non-zero exit. */
  async shoal(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<ShoalResult> {
    try {
      const { stdout, stderr } = await run("node", [BUILT_CLI, ...args], {
        env: { ...process.env, SHOAL_SOCKET: this.socketPath, SHOAL_HOST: "" },
        timeout: options.timeoutMs ?? 180_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === "number" ? e.code : -1,
        stdout: e.stdout ?? "",
        stderr: e.stderr ?? String(err),
      };
    }
  }

  /** `shoal` that must succeed: its stdout, or an error carrying the command's stderr. */
  async shoalOk(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.shoal(args, options);
    if (r.code !== 0) {
      throw new Error(`shoal ${args.join(" ")} on ${this.name} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    }
    return r.stdout;
  }

  /** `shoal --format json …`, parsed. */
  async shoalJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.shoalOk(["--format", "json", ...args])) as T;
  }

  /** The containers runc knows on this node (running or not). */
  async containers(): Promise<RuncContainer[]> {
    if (!existsSync(this.runcRoot)) return [];
    const { stdout } = await run("runc", ["--root", this.runcRoot, "list", "--format", "json"]);
    return (JSON.parse(stdout || "[]") as RuncContainer[] | null) ?? [];
  }

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logPath, "utf8").catch(() => "");
    return text.split("\n").slice(-lines).join("\n");
  }

  /**
   * After the daemon stopped: every container removed with the runtime (process, cgroups,
   * rootfs mount, bundle), the containers' namespaces, the node's cgroup parent, the data dir.
   */
  async cleanUp(): Promise<void> {
    await this.stop();
    const layout = daemonLayout(this.dataDir);
    if (this.nodeId !== undefined && existsSync(join(this.dataDir, "containers"))) {
      const images = new LocalImageStore({ root: join(this.dataDir, "images") });
      await images.open();
      const runtime = await ContainerRuntime.open({
        root: join(this.dataDir, "containers"),
        cgroupParent: layout.cgroupParent(this.nodeId),
        nodeId: this.nodeId,
        images,
        logger: silentLogger(),
      });
      try {
        for (const c of await runtime.list()) await runtime.remove(c.id);
      } finally {
        await runtime.close();
      }
    }
    for (const netns of await netnsNames()) {
      if (netns.startsWith(layout.netnsPrefix)) await run("ip", ["netns", "del", netns]).catch(() => {});
    }
    if (this.nodeId !== undefined) await removeCgroup(layout.cgroupParent(this.nodeId));
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** What this node left in the kernel: cgroups and container namespaces (for `leftovers`). */
  async kernelLeftovers(): Promise<string[]> {
    const layout = daemonLayout(this.dataDir);
    const out: string[] = [];
    for (const netns of await netnsNames()) {
      if (netns.startsWith(layout.netnsPrefix)) out.push(`netns ${netns} (${this.name})`);
    }
    if (this.nodeId !== undefined) {
      for (const h of await readdir("/sys/fs/cgroup").catch(() => [])) {
        const dir = join("/sys/fs/cgroup", h, layout.cgroupParent(this.nodeId));
        if (existsSync(dir)) out.push(`cgroup ${dir} (${this.name})`);
      }
    }
    return out;
  }
}

export interface StartClusterOptions {
  managers?: number;
  workers?: number;
  /**
   * Give every node a fixed /24 with --node-subnet; default false: the managers' allocator
   * gives each node its subnet (Node.container_subnet).
   */
  fixedSubnets?: boolean;
  /**
   * The agents' heartbeat period (a node is down after 3 missed, and its tasks are replaced);
   * default the daemon's 1 s. Tests that restart a daemon and expect its tasks to stay raise it.
   */
  heartbeatMs?: number;
  /** Where the busybox fixture lives in the registry; default "fixtures/busybox:1". */
  imagePath?: string;
  /** Every daemon serves Prometheus metrics (`TestDaemon.metricsUrl`); default false. */
  metrics?: boolean;
}

export class TestCluster {
  private nextSubnet = 1;

  constructor(
    readonly hosts: TestHosts,
    readonly work: TempDir,
    readonly registry: TestRegistry,
    /** The busybox fixture in the registry host, as tasks reference it. */
    readonly image: string,
    readonly daemons: TestDaemon[],
    private readonly fixedSubnets: boolean,
    private readonly heartbeatMs: number | undefined,
    private readonly metrics = false,
  ) {}

  /** The first manager (the one that ran `cluster init`). */
  get manager(): TestDaemon {
    const m = this.daemons.find((d) => d.role === "manager");
    if (m === undefined) throw new Error("the cluster has no manager");
    return m;
  }

  get managers(): TestDaemon[] {
    return this.daemons.filter((d) => d.role === "manager");
  }

  get workers(): TestDaemon[] {
    return this.daemons.filter((d) => d.role === "worker");
  }

  byNodeId(nodeId: string): TestDaemon {
    const d = this.daemons.find((x) => x.nodeId === nodeId);
    if (d === undefined) throw new Error(`no daemon of node "${nodeId}"`);
    return d;
  }

  /** A new host with a started daemon that is in no cluster yet. */
  async addDaemon(): Promise<TestDaemon> {
    const host = await this.hosts.add();
    const n = this.nextSubnet++;
    const daemon = new TestDaemon(
      host,
      join(this.work.path, host.name),
      join(this.work.path, `${host.name}.sock`),
      join(process.env.SHOAL_E2E_LOG_DIR ?? this.work.path, `${host.name}.log`),
      this.registry.host,
      this.fixedSubnets ? `10.90.${n}.0/24` : undefined,
      this.heartbeatMs,
      this.metrics,
    );
    this.daemons.push(daemon);
    await daemon.start();
    return daemon;
  }

  /** `shoal cluster init` on `daemon`. */
  async init(daemon: TestDaemon): Promise<void> {
    const r = await daemon.shoalJson<{ nodeId: string }>(["cluster", "init"]);
    daemon.nodeId = r.nodeId;
    daemon.role = "manager";
  }

  /** `shoal cluster join` of `daemon` with the token of `role`, at the first manager. */
  async join(daemon: TestDaemon, role: "manager" | "worker"): Promise<void> {
    const token = (await this.manager.shoalOk(["cluster", "join-token", "-q", role])).trim();
    const r = await daemon.shoalJson<{ nodeId: string; role: string }>([
      "cluster",
      "join",
      "--token",
      token,
      this.manager.address,
    ]);
    daemon.nodeId = r.nodeId;
    daemon.role = role;
  }

  /** `shoal --format json service ps SERVICE` on the first manager. */
  async tasks(service: string, on: TestDaemon = this.manager): Promise<TaskJson[]> {
    return on.shoalJson<TaskJson[]>(["service", "ps", service]);
  }

  /**
   * Waits until exactly `count` tasks of `service` are desired and actually RUNNING (and no
   * other task is desired running), each backed by a running runc container on its node, and no
   * other container of the service runs anywhere (tasks being shut down have stopped).
   */
  async waitForRunning(service: string, count: number, timeoutMs = 180_000): Promise<TaskJson[]> {
    return waitFor(
      async () => {
        const tasks = await this.tasks(service);
        const desired = tasks.filter((t) => t.desiredState === "TASK_STATE_RUNNING");
        const running = desired.filter((t) => t.status?.state === "TASK_STATE_RUNNING");
        if (desired.length !== count || running.length !== count) return undefined;
        const expected = new Set(running.map((t) => t.id));
        const found = new Set<string>();
        for (const d of this.daemons) {
          if (d.nodeId === undefined) continue;
          for (const ctr of await d.containers()) {
            if (ctr.status !== "running" || ctr.annotations?.[LABEL_SERVICE_NAME] !== service) continue;
            if (!expected.has(ctr.id)) return undefined;
            const task = running.find((t) => t.id === ctr.id);
            if (task?.nodeId === d.nodeId) found.add(ctr.id);
          }
        }
        return found.size === count ? running : undefined;
      },
      { description: `${count} running tasks of service "${service}"`, timeoutMs, intervalMs: 500 },
    );
  }

  /** Pushes another fixture image to the registry as `imagePath` ("repo:tag"); returns its reference. */
  pushImage(imagePath: string, image: FixtureImage): Promise<string> {
    return pushFixture(this.registry, this.work.path, imagePath, image);
  }

  /** What the cluster left on the machine: processes, mounts, cgroups, namespaces (after destroy). */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    const { stdout: ps } = await run("ps", ["-eo", "pid=,args="]);
    for (const line of ps.split("\n")) {
      if (line.includes(this.work.path) && !line.includes(" ps -eo")) out.push(`process ${line.trim()}`);
    }
    const mounts = await readFile("/proc/self/mountinfo", "utf8");
    for (const line of mounts.split("\n")) if (line.includes(this.work.path)) out.push(`mount ${line}`);
    for (const d of this.daemons) out.push(...(await d.kernelLeftovers()));
    for (const netns of await netnsNames()) {
      if (netns.startsWith(`shoal-${this.hosts.id}-`)) out.push(`netns ${netns}`);
    }
    return out;
  }

  /** Stops every daemon, removes every container and what it held, the hosts and the registry. */
  async destroy(): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(this.daemons.map((d) => d.stop().catch((e: unknown) => errors.push(e))));
    for (const d of this.daemons) await d.cleanUp().catch((e: unknown) => errors.push(e));
    await this.registry.stop().catch((e: unknown) => errors.push(e));
    await this.hosts.destroy().catch((e: unknown) => errors.push(e));
    // The shared parent only when it is empty (other clusters may be using it).
    for (const h of await readdir("/sys/fs/cgroup").catch(() => [])) {
      await rmdir(join("/sys/fs/cgroup", h, "shoal")).catch(() => {});
    }
    await this.work.remove().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw new AggregateError(errors, "cluster teardown failed");
  }
}

/**
 * Hosts (one for the registry, one per node), the registry with the busybox fixture, a daemon
 * per node host; `cluster init` on the first, the other managers and the workers joined.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  if (process.getuid?.() !== 0) throw new Error("the cluster tests need root (namespaces, runc, cgroups)");
  if (!existsSync(BUILT_BUNDLE))
    throw new Error(`${BUILT_BUNDLE} is missing: run "npm run build" before the e2e tests`);
  const managers = options.managers ?? 1;
  const workers = options.workers ?? 2;
  const work = await tempDir("shoal-cluster-");
  const hosts = await createHosts(1);
  let registry: TestRegistry | undefined;
  let cluster: TestCluster | undefined;
  try {
    const registryHost = hosts.get(1);
    registry = await startRegistry({
      netnsPath: registryHost.netnsPath,
      listenAddress: registryHost.address,
    });
    const image = await seedRegistry(registry, work.path, options.imagePath ?? IMAGE_PATH);
    cluster = new TestCluster(
      hosts,
      work,
      registry,
      image,
      [],
      options.fixedSubnets ?? false,
      options.heartbeatMs,
      options.metrics ?? false,
    );
    const first = await cluster.addDaemon();
    await cluster.init(first);
    for (let i = 1; i < managers; i++) await cluster.join(await cluster.addDaemon(), "manager");
    for (let i = 0; i < workers; i++) await cluster.join(await cluster.addDaemon(), "worker");
    return cluster;
  } catch (err) {
    if (cluster !== undefined) {
      for (const d of cluster.daemons)
        process.stderr.write(`--- ${d.name} log ---\n${await d.logTail(60)}\n`);
      await cluster.destroy().catch(() => {});
    } else {
      await registry?.stop().catch(() => {});
      await hosts.destroy().catch(() => {});
      await work.remove().catch(() => {});
    }
    throw err;
  }
}

/** The busybox fixture pushed to the registry; returns its reference. */
async function seedRegistry(registry: TestRegistry, workDir: string, imagePath: string): Promise<string> {
  return pushFixture(registry, workDir, imagePath, await buildBusyboxImage("one-layer"));
}

async function pushFixture(
  registry: TestRegistry,
  workDir: string,
  imagePath: string,
  fixture: FixtureImage,
): Promise<string> {
  const scratch = join(workDir, `push-${imagePath.replace(/[^a-z0-9]+/gi, "-")}`);
  const seeder = new LocalImageStore({
    root: join(scratch, "seed"),
    registries: { [registry.host]: registry.hostConfig(true) },
  });
  await seeder.open();
  const layout = join(scratch, "layout");
  await writeOciLayout(fixture, layout, imagePath);
  await seeder.importImage(layout);
  const image = `${registry.host}/${imagePath}`;
  await seeder.push(imagePath, image);
  await rm(scratch, { recursive: true, force: true });
  return image;
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function netnsNames(): Promise<string[]> {
  const { stdout } = await run("ip", ["netns", "list"]);
  return stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((l) => l !== "");
}

/** Removes a cgroup dir from every hierarchy, children first; a busy one stays (and is reported). */
async function removeCgroup(path: string): Promise<void> {
  for (const hierarchy of await readdir("/sys/fs/cgroup").catch(() => [])) {
    const dir = join("/sys/fs/cgroup", hierarchy, path);
    if (!existsSync(dir)) continue;
    const { stdout } = await run("find", [dir, "-depth", "-type", "d"]).catch(() => ({ stdout: "" }));
    for (const d of stdout.split("\n").filter((x) => x !== "")) await rmdir(d).catch(() => {});
  }
}
