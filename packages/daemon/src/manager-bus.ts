// A manager's part of the cluster bus (issue 19): its nats-server (unless `--nats URL` names an
// external one), a connection by the node's certificate, the events stream and publisher, and a
// log stream per service. Nodes, routes and streams follow the store (looked at every 2 s).
import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { type Logger, systemClock } from "@shoal/base";
import {
  connectBus,
  EventPublisher,
  ensureEventStream,
  ensureLogStream,
  formatHostPort,
  logRetentionFor,
  NatsSupervisor,
  type NatsTlsMaterial,
  type ShoalMetrics,
} from "@shoal/bus";
import type { NodeTlsMaterial } from "@shoal/pki";
import { TaskState, taskStateToJSON } from "@shoal/proto";
import type { Store } from "@shoal/store";
import {
  NATS_CLIENT_PORT_OFFSET,
  NATS_CLUSTER_PORT_OFFSET,
  natsNodesOf,
  natsRoutesOf,
  shiftPort,
} from "./bus-plan.js";

const SYNC_MS = 2_000;

export interface BusFlags {
  /** An external nats-server (`--nats URL`): no server of our own. */
  natsUrl?: string | undefined;
  /** Bind addresses of our server (default: the listen address's port + 1 and + 2). */
  natsClientAddress?: string | undefined;
  natsClusterAddress?: string | undefined;
}

export interface ManagerBusOptions extends BusFlags {
  dataDir: string;
  nodeId: string;
  listenAddress: string;
  advertiseAddress: string;
  store: Store;
  tls: NodeTlsMaterial;
  /** The KEK file: only managers hold it, so the route secret is derived from it. */
  kekFile: string;
  /** Cluster gauges refreshed with each sync (tasks by state and service). */
  metrics?: ShoalMetrics | undefined;
  logger: Logger;
}

export const natsTls = (t: NodeTlsMaterial): NatsTlsMaterial => ({
  caPem: t.rootCertPem,
  certPem: t.certPem,
  keyPem: t.keyPem,
});

export class ManagerBus {
  private readonly stop = new AbortController();
  private readonly ensured = new Map<string, string>();
  private eventsReady = false;
  private lastNodes = "";
  private lastRoutes = "";
  private loop: Promise<void> = Promise.resolve();
  private publisher: Promise<void> = Promise.resolve();

  private constructor(
    private readonly o: ManagerBusOptions,
    private readonly server: NatsSupervisor | undefined,
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly log: Logger,
  ) {}

  static async open(o: ManagerBusOptions): Promise<ManagerBus> {
    const log = o.logger.child({ module: "daemon/bus" });
    const tls = natsTls(o.tls);
    let server: NatsSupervisor | undefined;
    let urls: string[];
    if (o.natsUrl !== undefined && o.natsUrl !== "") {
      urls = [o.natsUrl];
    } else {
      const client =
        o.natsClientAddress === undefined
          ? shiftPort(o.listenAddress, NATS_CLIENT_PORT_OFFSET, "listen address")
          : shiftPort(o.natsClientAddress, 0, "--nats-client address");
      const cluster =
        o.natsClusterAddress === undefined
          ? shiftPort(o.listenAddress, NATS_CLUSTER_PORT_OFFSET, "listen address")
          : shiftPort(o.natsClusterAddress, 0, "--nats-cluster address");
      const nodes = natsNodesOf(o.store.view((tx) => tx.nodes.list()));
      if (!nodes.some((n) => n.nodeId === o.nodeId)) nodes.push({ nodeId: o.nodeId, role: "manager" });
      server = await NatsSupervisor.open({
        dataDir: join(o.dataDir, "nats"),
        serverName: o.nodeId,
        client,
        cluster,
        routes: ownless(natsRoutesOf(o.store.view((tx) => tx.nodes.list())), o.advertiseAddress),
        nodes,
        tls,
        routeSecret: await routeSecretOf(o.kekFile),
        logger: o.logger,
      });
      const host = client.host === "0.0.0.0" || client.host === "::" ? "127.0.0.1" : client.host;
      urls = [`tls://${formatHostPort({ host, port: client.port })}`];
    }
    try {
      const nc = await connectBus({ servers: urls, nodeId: o.nodeId, tls });
      const jsm = await jetstreamManager(nc, { timeout: 5_000, checkAPI: false });
      const bus = new ManagerBus(o, server, nc, jetstream(nc), jsm, log);
      bus.loop = bus.syncLoop();
      bus.publisher = new EventPublisher({ js: bus.js, store: o.store, logger: o.logger })
        .run(bus.stop.signal)
        .catch((err: unknown) => {
          if (!bus.stop.signal.aborted) log.warn({ err }, "event publisher stopped");
        });
      log.info({ urls, external: server === undefined }, "cluster bus connected");
      return bus;
    } catch (err) {
      await server?.close();
      throw err;
    }
  }

  private async syncLoop(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      try {
        await this.sync();
      } catch (err) {
        this.log.debug({ err }, "bus sync did not finish; again later");
      }
      // Ends early (rejects) when stopped; the loop then sees the signal.
      await systemClock.sleep(SYNC_MS, signal).catch(() => undefined);
    }
  }

  /** Server users and routes as the store has them; the events stream and one log stream per service. */
  private async sync(): Promise<void> {
    const {
      nodes: storeNodes,
      services,
      tasks,
    } = this.o.store.view((tx) => ({
      nodes: tx.nodes.list(),
      services: tx.services.list(),
      // Every task only for the task-state gauge: not read when metrics are off.
      tasks: this.o.metrics === undefined ? [] : tx.tasks.list(),
    }));
    this.updateMetrics(services, tasks);
    if (this.server !== undefined) {
      const nodes = natsNodesOf(storeNodes);
      if (!nodes.some((n) => n.nodeId === this.o.nodeId))
        nodes.push({ nodeId: this.o.nodeId, role: "manager" });
      const nodesKey = JSON.stringify(nodes);
      if (nodesKey !== this.lastNodes) {
        await this.server.updateNodes(nodes);
        this.lastNodes = nodesKey;
      }
      const routes = ownless(natsRoutesOf(storeNodes), this.o.advertiseAddress);
      const routesKey = JSON.stringify(routes);
      if (this.lastRoutes === "") this.lastRoutes = routesKey;
      else if (routesKey !== this.lastRoutes) {
        await this.server.updateRoutes(routes);
        this.lastRoutes = routesKey;
      }
    }
    const replicas = Math.min(3, Math.max(1, storeNodes.filter((n) => n.managerStatus !== undefined).length));
    const replicasNow = this.server === undefined ? 1 : this.lastRoutes === "[]" ? 1 : replicas;
    if (!this.eventsReady) {
      await ensureEventStream(this.jsm, replicasNow);
      this.eventsReady = true;
    }
    for (const s of services) {
      const retention = logRetentionFor(s.spec?.labels ?? {});
      const key = JSON.stringify(retention);
      if (this.ensured.get(s.id) === key) continue;
      await ensureLogStream(this.jsm, s.id, retention, replicasNow);
      this.ensured.set(s.id, key);
    }
  }

  private updateMetrics(
    services: readonly { id: string; spec?: { name: string } | undefined }[],
    tasks: readonly { serviceId: string; status?: { state: TaskState } | undefined }[],
  ): void {
    const m = this.o.metrics;
    if (m === undefined) return;
    const names = new Map(services.map((s) => [s.id, s.spec?.name || s.id]));
    const counts = new Map<string, { state: string; service: string; n: number }>();
    for (const t of tasks) {
      const state = taskStateToJSON(t.status?.state ?? TaskState.NEW)
        .replace(/^TASK_STATE_/, "")
        .toLowerCase();
      const service = names.get(t.serviceId) ?? t.serviceId;
      const key = `${state}\0${service}`;
      const c = counts.get(key) ?? { state, service, n: 0 };
      c.n += 1;
      counts.set(key, c);
    }
    m.tasks.reset();
    for (const c of counts.values()) m.tasks.set({ state: c.state, service: c.service }, c.n);
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
    await this.publisher;
    await this.nc.close().catch(() => undefined);
    await this.server?.close();
  }
}

function ownless<T extends { host: string; port: number }>(routes: T[], advertise: string): T[] {
  const own = shiftPort(advertise, NATS_CLUSTER_PORT_OFFSET, "advertise address");
  return routes.filter((r) => r.host !== own.host || r.port !== own.port);
}

/** Shared by every manager (they all hold the same KEK) and by no worker. */
async function routeSecretOf(kekFile: string): Promise<string> {
  const kek = (await readFile(kekFile, "utf8")).trim();
  return createHmac("sha256", kek).update("shoal nats route secret v1").digest("hex");
}
