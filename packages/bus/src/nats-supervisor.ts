import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { type Clock, type Logger, ShoalError, systemClock } from "@shoal/base";
import { BusErrorCode } from "./errors.js";
import { stopLeftoverServer } from "./leftover-server.js";
import { type HostPort, hasCluster, type NodeAccess, renderNatsConfig } from "./nats-config.js";

export interface NatsTlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface NatsSupervisorOptions {
  /** Own dir: config, TLS files, JetStream store, server log. */
  dataDir: string;
  /** Unique in the cluster: the node id. */
  serverName: string;
  clusterName?: string;
  client: HostPort;
  cluster: HostPort;
  routes: readonly HostPort[];
  nodes: readonly NodeAccess[];
  tls: NatsTlsMaterial;
  routeSecret?: string;
  maxFileStoreBytes?: number;
  logger: Logger;
  clock?: Clock;
  /** Default DEFAULT_NATS_BINARY (Debian's package). */
  binary?: string;
  /** How long a start may take before it counts as failed. */
  startTimeoutMs?: number;
}

export const DEFAULT_NATS_BINARY = "/usr/sbin/nats-server";
export const DEFAULT_CLUSTER_NAME = "shoal";
const RESTART_MIN_MS = 200;
const RESTART_MAX_MS = 5_000;
/** A server that ran this long before it died starts the backoff over. */
const STABLE_MS = 30_000;

/**
 * Runs one nats-server child and keeps it running: restarts it (with backoff) whenever it exits
 * unasked, applies route, node and certificate changes by rewriting the config and sending SIGHUP
 * (nats-server reloads routes, authorization and TLS in place), and stops it on `close()`.
 * The daemon's `--nats URL` mode simply does not create one.
 */
export class NatsSupervisor {
  private child: ChildProcess | undefined;
  /** A child we stopped on purpose to start it again (its exit is no crash). */
  private stopping: ChildProcess | undefined;
  private closed = false;
  private restarts = 0;
  private failures = 0;
  private startedAtMs = 0;
  private restartTimer: ReturnType<Clock["setTimeout"]> | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private routes: readonly HostPort[];
  private nodes: readonly NodeAccess[];
  private tls: NatsTlsMaterial;
  private readonly paths: ReturnType<typeof pathsOf>;

  private constructor(private readonly opts: NatsSupervisorOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ module: "bus/nats-supervisor", serverName: opts.serverName });
    this.routes = opts.routes;
    this.nodes = opts.nodes;
    this.tls = opts.tls;
    this.paths = pathsOf(opts.dataDir);
  }

  /** Writes the config and starts the server; resolves once it accepts connections. */
  static async open(opts: NatsSupervisorOptions): Promise<NatsSupervisor> {
    const s = new NatsSupervisor(opts);
    await mkdir(s.paths.tlsDir, { recursive: true, mode: 0o700 });
    await s.writeConfig();
    await s.start();
    return s;
  }

  /** `nats://host:port` (clients dial with TLS: the server requires it). */
  get url(): string {
    return `tls://${this.opts.client.host}:${this.opts.client.port}`;
  }

  /** The server's pid now (undefined while it is being restarted). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Times the server was started again after it exited unasked. */
  get restartCount(): number {
    return this.restarts;
  }

  /** New routes (managers joined or left): config rewritten, server reloaded. */
  async updateRoutes(routes: readonly HostPort[]): Promise<void> {
    const wasClustered = hasCluster({ routes: this.routes, cluster: this.opts.cluster });
    this.routes = routes;
    if (wasClustered === hasCluster({ routes, cluster: this.opts.cluster })) {
      await this.reload();
      return;
    }
    // Going from one server to a cluster (or back) is not something nats-server reloads: restart.
    await this.writeConfig();
    await this.restartNow();
  }

  /** New node list (a node joined, was removed or changed role). */
  async updateNodes(nodes: readonly NodeAccess[]): Promise<void> {
    this.nodes = nodes;
    await this.reload();
  }

  /** Renewed certificate (or rotated CA). */
  async updateTls(tls: NatsTlsMaterial): Promise<void> {
    this.tls = tls;
    await this.reload();
  }

  /** Stops the server (SIGTERM, SIGKILL after `graceMs`) and does not restart it. */
  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    if (this.restartTimer !== undefined) this.clock.clearTimeout(this.restartTimer);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = this.clock.setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    this.clock.clearTimeout(timer);
  }

  /** Stops the server on purpose and starts it again; resolves once it serves. */
  private async restartNow(): Promise<void> {
    if (this.restartTimer !== undefined) this.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      this.stopping = child;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await exited;
    }
    await this.start();
  }

  private async reload(): Promise<void> {
    if (this.closed) throw new ShoalError(BusErrorCode.Closed, "nats supervisor is closed");
    await this.writeConfig();
    // Between a crash and its restart there is nothing to signal: the restart reads the new file.
    if (this.child?.pid !== undefined && this.child.exitCode === null) this.child.kill("SIGHUP");
    this.log.info({ routes: this.routes.length, nodes: this.nodes.length }, "nats-server config reloaded");
  }

  private async writeConfig(): Promise<void> {
    const p = this.paths;
    await writeAtomic(p.caFile, this.tls.caPem);
    await writeAtomic(p.certFile, this.tls.certPem);
    await writeAtomic(p.keyFile, this.tls.keyPem);
    const text = renderNatsConfig({
      serverName: this.opts.serverName,
      clusterName: this.opts.clusterName ?? DEFAULT_CLUSTER_NAME,
      client: this.opts.client,
      cluster: this.opts.cluster,
      routes: this.routes,
      storeDir: p.storeDir,
      logFile: p.logFile,
      pidFile: p.pidFile,
      tls: { caFile: p.caFile, certFile: p.certFile, keyFile: p.keyFile },
      nodes: this.nodes,
      routeSecret: this.opts.routeSecret,
      maxFileStoreBytes: this.opts.maxFileStoreBytes,
    });
    await writeAtomic(p.configFile, text);
  }

  private async start(): Promise<void> {
    const binary = this.opts.binary ?? DEFAULT_NATS_BINARY;
    await stopLeftoverServer(this.paths.pidFile, this.paths.configFile, this.clock, this.log);
    const child = spawn(binary, ["-c", this.paths.configFile], { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    this.startedAtMs = this.clock.now();
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const spawnError = new Promise<never>((_, reject) =>
      child.once("error", (err) =>
        reject(
          new ShoalError(BusErrorCode.ServerStartFailed, `cannot run "${binary}"`, {
            cause: err,
            hint: "install Debian's nats-server (deploy/install-deps.sh)",
          }),
        ),
      ),
    );
    child.once("exit", (code, signal) => this.onExit(child, code, signal, stderr));
    try {
      await Promise.race([spawnError, this.waitReady(child, () => stderr)]);
    } catch (err) {
      if (child.exitCode === null) child.kill("SIGKILL");
      throw err;
    }
    this.log.info({ pid: child.pid, url: this.url }, "nats-server started");
  }

  private async waitReady(child: ChildProcess, stderr: () => string): Promise<void> {
    const deadline = this.clock.now() + (this.opts.startTimeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = await readFile(this.paths.logFile, "utf8").catch(() => "");
        throw new ShoalError(
          BusErrorCode.ServerStartFailed,
          `nats-server "${this.opts.serverName}" exited at start (${child.exitCode ?? child.signalCode})`,
          { details: { stderr: stderr(), log: log.slice(-2000) }, hint: `see ${this.paths.logFile}` },
        );
      }
      if (await acceptsConnections(this.opts.client)) return;
      if (this.clock.now() > deadline)
        throw new ShoalError(
          BusErrorCode.ServerStartFailed,
          `nats-server "${this.opts.serverName}" did not listen on ${this.opts.client.host}:${this.opts.client.port} in time`,
          { hint: `see ${this.paths.logFile}` },
        );
      await this.clock.sleep(50);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: string | null, stderr: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (this.closed || this.stopping === child) return;
    if (this.clock.now() - this.startedAtMs > STABLE_MS) this.failures = 0;
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** this.failures);
    this.failures++;
    this.log.warn({ code, signal, delayMs, stderr: stderr.slice(-500) }, "nats-server exited; restarting");
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closed) return;
      this.restarts++;
      this.start().catch((err: unknown) => {
        this.log.error({ err }, "nats-server restart failed");
        // start() failing leaves no child and no exit handler to schedule again: do it here.
        if (this.child === undefined && !this.closed) this.onExit(child, null, null, "");
      });
    }, delayMs);
  }
}

function pathsOf(dataDir: string) {
  const tlsDir = join(dataDir, "tls");
  return {
    tlsDir,
    caFile: join(tlsDir, "ca.pem"),
    certFile: join(tlsDir, "node.pem"),
    keyFile: join(tlsDir, "node-key.pem"),
    configFile: join(dataDir, "nats-server.conf"),
    storeDir: join(dataDir, "jetstream"),
    logFile: join(dataDir, "nats-server.log"),
    pidFile: join(dataDir, "nats-server.pid"),
  };
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

/** nats-server greets with INFO at once: a connection that reads anything means it is serving. */
function acceptsConnections(a: HostPort): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: a.host, port: a.port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once("data", () => done(true));
    s.once("error", () => done(false));
  });
}
