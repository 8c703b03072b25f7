// `shoal daemon` composed (DESIGN.md §2): the admin socket always; once the node is in a cluster,
// the agent (task controllers on a RuntimeEngine) always and the Manager when the node's role is
// manager — the node's own agent dials its own manager too. A daemon started on an empty data dir
// waits on its admin socket for `cluster init` or `cluster join`; a restarted one reopens what
// its data dir holds (node.json, certs/, raft/, agent records, containers).
import { mkdir, readdir, readFile, rm, rmdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { Agent, RuntimeEngine, type RuntimeEngineOptions } from "@shoal/agent";
import { type Logger, ShoalError, systemClock } from "@shoal/base";
import { loadMetrics, MetricsServer, parseHostPort, type ShoalMetrics } from "@shoal/bus";
import {
  Manager,
  ManagerErrorCode,
  type ManagerOptions,
  readTls,
  renewNodeCertificate,
  requestNodeCertificate,
  streamHandler,
  unaryHandler,
  writeTls,
} from "@shoal/manager";
import {
  createClientCredentials,
  kekPath,
  type NodeTlsMaterial,
  readNodeCertificate,
  tlsChannelOptions,
} from "@shoal/pki";
import {
  type ClusterEventsRequest,
  type GetNodeInfoResponse,
  type InitClusterRequest,
  type InitClusterResponse,
  type JoinClusterRequest,
  type JoinClusterResponse,
  type LeaveClusterResponse,
  type Node,
  NodeRole,
  type ServiceLogsRequest,
  type SessionMessage,
} from "@shoal/proto";
import { LocalImageStore } from "@shoal/runtime";
import type { Store } from "@shoal/store";
import { hostOf, resolveAdvertiseAddress, withDefaultPort } from "./addresses.js";
import { AdminServer } from "./admin-server.js";
import { AgentLogs } from "./agent-logs.js";
import { natsUrlsOf } from "./bus-plan.js";
import { serveClusterEvents, serveServiceLogs } from "./bus-queries.js";
import { DaemonErrorCode } from "./errors.js";
import { imageAdminHandlers } from "./image-admin.js";
import { type DaemonLayout, daemonLayout } from "./layout.js";
import { type BusFlags, ManagerBus } from "./manager-bus.js";
import { ManagerMetrics } from "./manager-metrics.js";
import { compactingFullGc, eventLoopBusyMeter, MemorySettle } from "./memory-settle.js";
import { MeteredEngine } from "./metered-engine.js";
import { type NodeState, readNodeState, writeNodeState } from "./node-state.js";
import { roleChangeFor } from "./role-change.js";

export interface DaemonOptions {
  dataDir: string;
  /** The cluster port's bind address on managers (`--listen`). */
  listenAddress: string;
  /** What other nodes dial (`--advertise`); found from the interfaces when not given. */
  advertiseAddress?: string | undefined;
  socketPath: string;
  /** Registries (`host:port`) pulled from over plain HTTP. */
  insecureRegistries?: readonly string[] | undefined;
  /** The node's container subnet; by default the one the managers' allocator gives the node. */
  nodeSubnet?: string | undefined;
  /** The name this node reports (default: the machine's host name). */
  hostname?: string | undefined;
  /** Engine labels (`engine.labels.<k>` in constraints). */
  labels?: Record<string, string> | undefined;
  /** Raft tick for a manager (tests use shorter ones). */
  raftTickMs?: number | undefined;
  /** A manager's dispatcher heartbeat period while the cluster sets none (a node is down after 3 missed). */
  heartbeatPeriodMs?: number | undefined;
  /** Where `GET /metrics` is served (`--metrics-addr host:port`); none when not given. */
  metricsAddress?: string | undefined;
  /** The cluster bus: `--nats URL`, or where a manager's own nats-server listens. */
  bus?: BusFlags | undefined;
  logger: Logger;
}

/** A role change that failed (no manager reachable, CA busy) is tried again after this long. */
const ROLE_CHANGE_RETRY_MS = 2_000;

/** How long `cluster init` waits for the new cluster's objects to be committed. */
const INIT_COMMIT_TIMEOUT_MS = 30_000;

interface RunningParts {
  manager:
    | { manager: Manager; stop: AbortController; run: Promise<void>; metrics: Promise<void> }
    | undefined;
  /** A manager's nats-server, events and log streams (undefined when it could not start). */
  bus: ManagerBus | undefined;
  logs: AgentLogs;
  agent: Agent;
  engine: RuntimeEngine;
  agentStop: AbortController;
  agentRun: Promise<void>;
}

export class Daemon {
  private parts: RunningParts | undefined;
  private busy = false;
  private closing = false;
  /** The node object as the last session message showed it, and the role change working on it. */
  private latestNode: Node | undefined;
  private latestManagers: string[] = [];
  private roleChange: Promise<void> | undefined;
  private admin: AdminServer | undefined;
  /** The node's image store: `shoal image` and the agent's task controllers share it. */
  private imageStore: Promise<LocalImageStore> | undefined;
  /**
   * The metrics and their /metrics server, only with `--metrics-addr`: nothing reads them
   * otherwise, and prom-client is not loaded (packages/daemon/README.md, Memory).
   */
  private metered: { metrics: ShoalMetrics; server: MetricsServer } | undefined;
  private fatal: (err: unknown) => void = () => {};
  private readonly failed = new Promise<never>((_, reject) => {
    this.fatal = reject;
  });

  private constructor(
    private readonly options: DaemonOptions,
    private readonly layout: DaemonLayout,
    private state: NodeState | undefined,
    private readonly logger: Logger,
  ) {
    this.failed.catch(() => {});
  }

  /** Reads the data dir and binds the admin socket; `run` starts what the data dir holds. */
  static async open(options: DaemonOptions): Promise<Daemon> {
    const layout = daemonLayout(options.dataDir);
    await mkdir(layout.dataDir, { recursive: true, mode: 0o700 });
    const logger = options.logger.child({ module: "daemon" });
    const daemon = new Daemon(options, layout, await readNodeState(layout.nodeFile), logger);
    daemon.admin = await AdminServer.open({
      socketPath: options.socketPath,
      nodeAdmin: daemon.nodeAdminService(),
      control: () => daemon.currentControl(),
      logger,
    });
    if (options.metricsAddress !== undefined) {
      try {
        const metrics = await loadMetrics();
        const server = await MetricsServer.open(
          parseHostPort(options.metricsAddress, "--metrics-addr"),
          metrics.registry,
        );
        daemon.metered = { metrics, server };
      } catch (err) {
        await daemon.admin.close();
        throw err;
      }
    }
    return daemon;
  }

  /** The node this daemon is, or undefined while it is in no cluster. */
  get node(): NodeState | undefined {
    return this.state;
  }

  /**
   * Runs until `signal` aborts (SIGTERM): then the agent stops (its containers keep running,
   * its records stay), and a leading manager hands leadership over before it stops.
   */
  async run(signal: AbortSignal): Promise<void> {
    // Full GCs once quiet after start-up and after bursts of work (memory-settle.ts).
    const settle = new MemorySettle({
      clock: systemClock,
      logger: this.logger,
      busyRatio: eventLoopBusyMeter(),
      collect: compactingFullGc(),
    });
    settle.start();
    try {
      if (this.state !== undefined) await this.startParts(this.state, undefined);
      await Promise.race([
        new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener("abort", () => resolve(), { once: true });
        }),
        this.failed,
      ]);
    } finally {
      settle.stop();
      this.closing = true;
      await this.roleChange;
      await this.stopParts();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.metered?.server.close();
    await this.admin?.close();
  }

  private currentControl(): grpc.UntypedServiceImplementation | ShoalError {
    const manager = this.parts?.manager?.manager;
    if (manager !== undefined) return manager.controlService();
    if (this.state === undefined) {
      return new ShoalError(DaemonErrorCode.NotInCluster, "this node is not part of a cluster", {
        hint: "run `shoal cluster init`, or `shoal cluster join --token TOKEN ADDR` with a token from a manager",
      });
    }
    return new ShoalError(
      DaemonErrorCode.NotManager,
      "this node is a worker: only managers serve cluster commands",
      {
        hint: "run the command on a manager, or point --host at one",
      },
    );
  }

  private nodeAdminService(): grpc.UntypedServiceImplementation {
    return {
      initCluster: unaryHandler(this.logger, (req: InitClusterRequest) =>
        this.exclusive(() => this.init(req)),
      ),
      joinCluster: unaryHandler(this.logger, (req: JoinClusterRequest) =>
        this.exclusive(() => this.join(req)),
      ),
      leaveCluster: unaryHandler(this.logger, () => this.leave()),
      getNodeInfo: unaryHandler(
        this.logger,
        async (): Promise<GetNodeInfoResponse> => ({
          nodeId: this.state?.nodeId ?? "",
          clusterId: this.state?.clusterId ?? "",
          role: this.state?.role === "manager" ? NodeRole.MANAGER : NodeRole.WORKER,
          isManager: this.parts?.manager !== undefined,
        }),
      ),
      ...this.busReads(),
    };
  }

  /**
   * `service logs` and `events`: on the admin socket (NodeAdmin) and, for a remote CLI, on the
   * cluster port (Logs, where the certificate's role is checked first: managers only).
   */
  private busReads(): grpc.UntypedServiceImplementation {
    return {
      serviceLogs: streamHandler(this.logger, (req: ServiceLogsRequest, send, ctx) => {
        const { bus, store } = this.busOrError();
        return serveServiceLogs(bus, store, req, send, ctx.signal);
      }),
      clusterEvents: streamHandler(this.logger, (req: ClusterEventsRequest, send, ctx) => {
        const { bus, store } = this.busOrError();
        return serveClusterEvents(bus, store, req, send, ctx.signal);
      }),
      ...imageAdminHandlers(() => this.images(), this.logger),
    };
  }

  /** Opened once, on first use (an image command, or the agent's start). */
  private images(): Promise<LocalImageStore> {
    if (this.imageStore === undefined) {
      const store = new LocalImageStore({
        root: join(this.layout.dataDir, "images"),
        registries: this.registries(),
        logger: this.options.logger,
      });
      this.imageStore = store.open().then(() => store);
      // A failed open is tried again by the next use.
      this.imageStore.catch(() => {
        this.imageStore = undefined;
      });
    }
    return this.imageStore;
  }

  private registries() {
    return Object.fromEntries((this.options.insecureRegistries ?? []).map((h) => [h, { insecure: true }]));
  }

  /** The running manager's bus, or why there is none here. */
  private busOrError(): { bus: ManagerBus; store: Store } {
    const parts = this.parts;
    if (parts?.manager === undefined) {
      const why = this.currentControl();
      throw why instanceof ShoalError ? why : new ShoalError(DaemonErrorCode.NotManager, "no manager here");
    }
    if (parts.bus === undefined) {
      throw new ShoalError(DaemonErrorCode.Busy, "the cluster bus is not running on this manager", {
        hint: "see the daemon's log for why nats-server did not start",
      });
    }
    return { bus: parts.bus, store: parts.manager.manager.store };
  }

  /** One init, join or role change at a time, and none once stopping or in a cluster. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) throw new ShoalError(DaemonErrorCode.Busy, "the daemon is stopping");
    if (this.busy) throw new ShoalError(DaemonErrorCode.Busy, "another cluster init or join is in progress");
    if (this.state !== undefined) {
      throw new ShoalError(
        DaemonErrorCode.AlreadyInCluster,
        `this node is already part of cluster "${this.state.clusterId}" (node "${this.state.nodeId}")`,
        { hint: "leave it first, or use another --data-dir and --socket for a second daemon" },
      );
    }
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  private async init(req: InitClusterRequest): Promise<InitClusterResponse> {
    if (req.forceNewCluster) {
      throw new ShoalError(DaemonErrorCode.Unimplemented, "--force-new-cluster is not available yet");
    }
    const listenAddress = withDefaultPort(req.listenAddr || this.options.listenAddress, "listen address");
    const advertiseAddress = resolveAdvertiseAddress(
      req.advertiseAddr || this.options.advertiseAddress,
      listenAddress,
    );
    const name = req.spec?.name;
    const manager = await Manager.init(
      this.managerOptions(listenAddress, advertiseAddress),
      name === undefined || name === "" ? {} : { clusterName: name },
    );
    const state: NodeState = {
      nodeId: manager.identity.nodeId,
      clusterId: manager.identity.clusterId,
      role: "manager",
      listenAddress,
      advertiseAddress,
      managers: [advertiseAddress],
    };
    await writeNodeState(this.layout.nodeFile, state);
    this.state = state;
    await this.startParts(state, manager);
    const tokens = await this.waitForJoinTokens(manager);
    this.logger.info({ nodeId: state.nodeId, clusterId: state.clusterId }, "cluster initialized");
    return {
      nodeId: state.nodeId,
      clusterId: state.clusterId,
      workerJoinToken: tokens.worker,
      managerJoinToken: tokens.manager,
      advertiseAddr: advertiseAddress,
    };
  }

  private async join(req: JoinClusterRequest): Promise<JoinClusterResponse> {
    if (req.remoteAddr === "" || req.joinToken === "") {
      throw new ShoalError(DaemonErrorCode.InvalidArgument, "join needs a manager address and a join token");
    }
    const remoteAddress = withDefaultPort(req.remoteAddr, "manager address");
    const listenAddress = withDefaultPort(req.listenAddr || this.options.listenAddress, "listen address");
    const advertiseAddress = resolveAdvertiseAddress(
      req.advertiseAddr || this.options.advertiseAddress,
      listenAddress,
    );
    let state: NodeState;
    let manager: Manager | undefined;
    try {
      // The token says the role, but only the CA can read it: a worker first; the CA refuses a
      // manager token for a worker without creating a node, and then this joins as a manager.
      const issued = await requestNodeCertificate(
        {
          token: req.joinToken,
          remoteAddress,
          availability: req.availability,
          hosts: [hostOf(advertiseAddress)],
        },
        NodeRole.WORKER,
      );
      await writeTls(this.layout.dataDir, issued.tls);
      state = {
        nodeId: issued.nodeId,
        clusterId: issued.clusterId,
        role: "worker",
        listenAddress,
        advertiseAddress,
        managers: [remoteAddress],
      };
    } catch (err) {
      if (
        !(ShoalError.is(err, ManagerErrorCode.JoinTokenRefused) && err.message.includes("the manager token"))
      ) {
        throw err;
      }
      manager = await Manager.join(this.managerOptions(listenAddress, advertiseAddress), {
        token: req.joinToken,
        remoteAddress,
      });
      state = {
        nodeId: manager.identity.nodeId,
        clusterId: manager.identity.clusterId,
        role: "manager",
        listenAddress,
        advertiseAddress,
        managers: [advertiseAddress, remoteAddress],
      };
    }
    await writeNodeState(this.layout.nodeFile, state);
    this.state = state;
    await this.startParts(state, manager);
    this.logger.info({ nodeId: state.nodeId, role: state.role }, "joined the cluster");
    return {
      nodeId: state.nodeId,
      clusterId: state.clusterId,
      role: state.role === "manager" ? NodeRole.MANAGER : NodeRole.WORKER,
    };
  }

  /**
   * A worker leaves (docker swarm leave): the agent stops, its containers are stopped and removed
   * with their network attachments, and the node's identity, certificates and records go — the
   * data dir keeps only its images. The node object stays on the managers (down) until
   * `shoal node rm`. A manager is refused: it must be demoted first.
   */
  private async leave(): Promise<LeaveClusterResponse> {
    if (this.closing) throw new ShoalError(DaemonErrorCode.Busy, "the daemon is stopping");
    if (this.busy) throw new ShoalError(DaemonErrorCode.Busy, "another cluster change is in progress");
    const state = this.state;
    if (state === undefined) {
      throw new ShoalError(DaemonErrorCode.NotInCluster, "this node is not part of a cluster");
    }
    if (state.role === "manager") {
      throw new ShoalError(
        DaemonErrorCode.InvalidArgument,
        "this node is a manager: it cannot leave the cluster yet",
        {
          hint: `demote it first (\`shoal node demote ${state.nodeId}\` on a manager), then leave`,
        },
      );
    }
    this.busy = true;
    try {
      const parts = this.parts;
      this.parts = undefined;
      if (parts !== undefined) {
        await parts.logs.close();
        parts.agentStop.abort();
        await parts.agentRun;
        await parts.agent.close();
        try {
          for (const c of await parts.engine.runtime.list()) {
            await parts.engine.runtime.stop(c.id).catch(() => undefined);
            await parts.engine.remove(c.id);
            await parts.engine.detachNetwork(c.id).catch(() => undefined);
          }
          // No task, no overlay: bridges, VXLAN devices, routes and rules go with the node.
          await parts.engine.setOverlay(undefined);
        } finally {
          await parts.engine.close();
        }
      }
      await removeCgroupParent(this.layout.cgroupParent(state.nodeId));
      this.state = undefined;
      for (const name of [
        "node.json",
        "certs",
        "agent-records.jsonl",
        "container-subnet",
        "network",
        "overlay-endpoints.json",
      ]) {
        await rm(join(this.layout.dataDir, name), { recursive: true, force: true });
      }
      this.logger.info({ nodeId: state.nodeId }, "left the cluster");
      return {};
    } finally {
      this.busy = false;
    }
  }

  private managerOptions(listenAddress: string, advertiseAddress: string): ManagerOptions {
    return {
      dataDir: this.layout.dataDir,
      listenAddress,
      advertiseAddress,
      logger: this.options.logger,
      logsService: this.busReads(),
      onCommitLatencyMs: (ms) => this.metered?.metrics.raftCommitLatency.observe(ms / 1000),
      ...(this.options.raftTickMs === undefined ? {} : { raft: { tickMs: this.options.raftTickMs } }),
      ...(this.options.heartbeatPeriodMs === undefined
        ? {}
        : { heartbeatPeriodMs: this.options.heartbeatPeriodMs }),
    };
  }

  private async waitForJoinTokens(manager: Manager): Promise<{ worker: string; manager: string }> {
    const deadline = Date.now() + INIT_COMMIT_TIMEOUT_MS;
    for (;;) {
      const tokens = manager.store.view((tx) => tx.clusters.list()[0]?.rootCa?.joinTokens);
      if (tokens !== undefined) return tokens;
      if (Date.now() > deadline) {
        throw new ShoalError(DaemonErrorCode.Busy, "the new cluster was not committed in time", {
          hint: "see the daemon's log; the daemon finishes the init on its own",
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Opens (or takes) the manager when the role says so, then the engine and the agent. */
  private async startParts(state: NodeState, given: Manager | undefined): Promise<void> {
    let managerPart: RunningParts["manager"];
    if (state.role === "manager") {
      const manager =
        given ?? (await Manager.open(this.managerOptions(state.listenAddress, state.advertiseAddress)));
      const stop = new AbortController();
      const run = manager.run(stop.signal).catch((err: unknown) => {
        this.logger.error({ err }, "manager stopped with an error");
        this.fatal(err);
      });
      // Read only for /metrics: nothing to do when nobody scrapes.
      const metered = this.metered;
      const metrics =
        metered === undefined
          ? Promise.resolve()
          : new ManagerMetrics({
              store: manager.store,
              metrics: metered.metrics,
              logger: this.options.logger,
            }).run(stop.signal);
      managerPart = { manager, stop, run, metrics };
    }
    const tls = await readTls(this.layout.dataDir);
    let bus: ManagerBus | undefined;
    if (managerPart !== undefined) {
      try {
        bus = await ManagerBus.open({
          ...this.options.bus,
          dataDir: this.layout.dataDir,
          nodeId: state.nodeId,
          listenAddress: state.listenAddress,
          advertiseAddress: state.advertiseAddress,
          store: managerPart.manager.store,
          tls,
          kekFile: kekPath(this.layout.dataDir),
          logger: this.options.logger,
        });
      } catch (err) {
        // The cluster runs without its bus (no logs, no events) rather than not at all.
        this.logger.error({ err }, "the cluster bus did not start: no logs or events on this manager");
      }
    }
    const nodeOptions: RuntimeEngineOptions = {
      dataDir: this.layout.dataDir,
      nodeId: state.nodeId,
      cgroupParent: this.layout.cgroupParent(state.nodeId),
      registries: this.registries(),
      images: await this.images(),
      logger: this.options.logger,
      // Bridge networking always: on the subnet given, else on the one the allocator gives the node.
      network: {
        bridge: this.layout.bridge,
        chainPrefix: this.layout.chainPrefix,
        netnsPrefix: this.layout.netnsPrefix,
        ...(this.options.nodeSubnet === undefined ? {} : { subnet: this.options.nodeSubnet }),
        // Overlay networks: the tunnel endpoint is the address other nodes reach this one at.
        overlay: { localAddr: hostOf(state.advertiseAddress), upstreams: await hostResolvers() },
      },
    };
    const engine = await RuntimeEngine.open(nodeOptions);
    const agent = await Agent.open({
      dataDir: this.layout.dataDir,
      nodeId: state.nodeId,
      engine:
        this.metered === undefined ? engine : new MeteredEngine(engine, this.metered.metrics, systemClock),
      managers: state.managers.map((addr) => ({ addr, weight: 1 })),
      credentials: createClientCredentials(tls, { clusterId: state.clusterId }),
      channelOptions: tlsChannelOptions("manager"),
      description: {
        ...(this.options.hostname === undefined ? {} : { hostname: this.options.hostname }),
        ...(this.options.labels === undefined ? {} : { engineLabels: this.options.labels }),
      },
      logger: this.options.logger,
      onSessionMessage: (m) => this.onSessionMessage(m),
    });
    const agentStop = new AbortController();
    const agentRun = agent.run(agentStop.signal).catch((err: unknown) => {
      this.logger.error({ err }, "agent stopped with an error");
      this.fatal(err);
    });
    const natsUrl = this.options.bus?.natsUrl;
    const logs = AgentLogs.start({
      dataDir: this.layout.dataDir,
      nodeId: state.nodeId,
      nodeName: this.options.hostname ?? hostname(),
      engine,
      servers: natsUrl ? [natsUrl] : natsUrlsOf([...state.managers, ...this.latestManagers]),
      tls,
      logger: this.options.logger,
      onPublished: (lines) => this.metered?.metrics.logLinesPublished.inc(lines),
    });
    this.parts = { manager: managerPart, bus, logs, agent, engine, agentStop, agentRun };
    this.logger.info({ nodeId: state.nodeId, role: state.role }, "node parts running");
  }

  private onSessionMessage(m: SessionMessage): void {
    if (m.node !== undefined) this.latestNode = m.node;
    const managers = m.managers.flatMap((w) => (w.peer?.addr ? [w.peer.addr] : []));
    if (managers.length > 0) this.latestManagers = managers;
    this.followRole();
  }

  /** Starts one role change at a time; the node seen last decides, retried until it holds. */
  private followRole(): void {
    if (this.roleChange !== undefined || this.closing || this.state === undefined) return;
    const change = roleChangeFor(this.state.role, this.latestNode);
    if (change === undefined) return;
    this.busy = true;
    this.roleChange = (change === "promote" ? this.promote() : this.demote())
      .then(
        () => true,
        (err: unknown) => {
          this.logger.warn({ err, change }, "role change failed; retrying");
          return false;
        },
      )
      .then(async (done) => {
        if (!done) await new Promise((r) => setTimeout(r, ROLE_CHANGE_RETRY_MS));
        this.busy = false;
        this.roleChange = undefined;
        this.followRole();
      });
  }

  /** Managers to ask, the ones the dispatcher named last first, this node itself never. */
  private otherManagers(): string[] {
    const own = this.state?.advertiseAddress;
    return [...new Set([...this.latestManagers, ...(this.state?.managers ?? [])])].filter((a) => a !== own);
  }

  /** A certificate of the role the store holds now, from the first manager that answers. */
  private async renewCertificate(state: NodeState, want: "manager" | "worker"): Promise<NodeTlsMaterial> {
    const current = await readTls(this.layout.dataDir);
    let last: unknown;
    for (const address of this.otherManagers()) {
      try {
        const tls = await renewNodeCertificate({
          address,
          clusterId: state.clusterId,
          nodeId: state.nodeId,
          hosts: [hostOf(state.advertiseAddress)],
          current,
        });
        const role = readNodeCertificate(tls.certPem).role;
        if (role !== want)
          throw new ShoalError(
            DaemonErrorCode.Busy,
            `the CA issued a ${role} certificate, not a ${want} one yet`,
          );
        return tls;
      } catch (err) {
        last = err;
      }
    }
    throw (
      last ?? new ShoalError(DaemonErrorCode.NotInCluster, "no manager known to renew the certificate with")
    );
  }

  /** Worker → manager in the running process: manager certificate, Raft/Join, the Manager. */
  private async promote(): Promise<void> {
    const state = this.state;
    if (state === undefined || this.closing) return;
    this.logger.info({ nodeId: state.nodeId }, "promoted: starting the manager parts");
    const tls = await this.renewCertificate(state, "manager");
    const options = this.managerOptions(state.listenAddress, state.advertiseAddress);
    await this.stopParts();
    let manager: Manager | undefined;
    let last: unknown;
    try {
      for (const remoteAddress of this.leaderFirst()) {
        try {
          manager = await Manager.joinPromoted(options, {
            nodeId: state.nodeId,
            clusterId: state.clusterId,
            tls,
            remoteAddress,
          });
          break;
        } catch (err) {
          last = err;
          const leader = ShoalError.is(err, ManagerErrorCode.NotLeader) ? err.details.leaderAddr : undefined;
          if (typeof leader === "string" && leader !== "") this.leaderHint = leader;
        }
      }
    } finally {
      if (manager === undefined) await this.startParts(state, undefined);
    }
    if (manager === undefined)
      throw last ?? new ShoalError(DaemonErrorCode.NotInCluster, "no manager to join");
    const next: NodeState = {
      ...state,
      role: "manager",
      managers: [state.advertiseAddress, ...this.otherManagers()],
    };
    await writeNodeState(this.layout.nodeFile, next);
    this.state = next;
    await this.startParts(next, manager);
  }

  private leaderHint: string | undefined;

  private leaderFirst(): string[] {
    const others = this.otherManagers();
    return this.leaderHint === undefined
      ? [...others, ...others]
      : [this.leaderHint, ...others, this.leaderHint];
  }

  /**
   * Manager → worker once the leader took it out of Raft: the Manager stops, its Raft data and KEK
   * go, a worker certificate replaces the manager one; the agent goes on with its containers.
   */
  private async demote(): Promise<void> {
    const state = this.state;
    if (state === undefined || this.closing) return;
    this.logger.info({ nodeId: state.nodeId }, "demoted: stopping the manager parts");
    await this.stopParts();
    const next: NodeState = { ...state, role: "worker", managers: this.otherManagers() };
    try {
      const tls = await this.renewCertificate(state, "worker");
      await writeTls(this.layout.dataDir, tls);
      await writeNodeState(this.layout.nodeFile, next);
      this.state = next;
    } finally {
      // Still a manager on disk when the renewal failed: run as one until the retry.
      await this.startParts(this.state ?? state, undefined);
    }
    for (const path of [
      join(this.layout.dataDir, "manager.json"),
      join(this.layout.dataDir, "raft"),
      kekPath(this.layout.dataDir),
    ]) {
      await rm(path, { recursive: true, force: true });
    }
  }

  private async stopParts(): Promise<void> {
    const parts = this.parts;
    if (parts === undefined) return;
    this.parts = undefined;
    await parts.logs.close();
    parts.agentStop.abort();
    await parts.agentRun;
    await parts.agent.close();
    await parts.engine.close();
    await parts.bus?.close();
    if (parts.manager !== undefined) {
      parts.manager.stop.abort();
      await parts.manager.run;
      await parts.manager.metrics;
      await parts.manager.manager.close();
    }
    this.logger.info("node parts stopped");
  }
}

/** The node's (now empty) cgroup parent in every hierarchy; a busy one is left and logged by no one. */
async function removeCgroupParent(parent: string): Promise<void> {
  const hierarchies = await readdir("/sys/fs/cgroup").catch(() => [] as string[]);
  for (const h of hierarchies) await rmdir(join("/sys/fs/cgroup", h, parent)).catch(() => undefined);
}

/**
 * The node's own resolvers, for the embedded resolver to forward other names to: the host's
 * non-loopback nameservers, else those of its local stub resolver (systemd-resolved).
 */
async function hostResolvers(): Promise<string[]> {
  const servers = async (path: string) => {
    const text = await readFile(path, "utf8").catch(() => "");
    return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)]
      .map((m) => m[1] as string)
      .filter((ns) => !/^127\.|^::1$/.test(ns) && !ns.includes(":"));
  };
  const own = await servers("/etc/resolv.conf");
  return own.length > 0 ? own : servers("/run/systemd/resolve/resolv.conf");
}
