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
  DEFAULT_LOG_RETENTION,
  EventPublisher,
  ensureEventStream,
  ensureLogStream,
  formatHostPort,
  type HostPort,
  type LogRetention,
  logRetentionFor,
  NatsSupervisor,
  type NatsTlsMaterial,
} from "@shoal/bus";
import type { NodeTlsMaterial } from "@shoal/pki";
import type { ReplicatedStore } from "@shoal/store";
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
  /** The manager's store: nodes, services and tasks; its Raft member for leader events. */
  store: ReplicatedStore;
  tls: NodeTlsMaterial;
  /** The KEK file: only managers hold it, so the route secret is derived from it. */
  kekFile: string;
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
  private readonly warned = new Set<string>();
  /** The events stream's replica count as last ensured (0: not yet). */
  private eventsReplicas = 0;
  private lastNodes = "";
  private lastRoutes = "";
  private loop: Promise<void> = Promise.resolve();
  private publisher: Promise<void> = Promise.resolve();
  private leaders: Promise<void> = Promise.resolve();

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
    let startRoutes: HostPort[] = [];
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
      startRoutes = ownless(natsRoutesOf(o.store.view((tx) => tx.nodes.list())), o.advertiseAddress);
      if (!nodes.some((n) => n.nodeId === o.nodeId)) nodes.push({ nodeId: o.nodeId, role: "manager" });
      server = await NatsSupervisor.open({
        dataDir: join(o.dataDir, "nats"),
        serverName: o.nodeId,
        client,
        cluster,
        routes: startRoutes,
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
      // What the server was started with: the first sync compares the store's routes to it.
      if (server !== undefined) bus.lastRoutes = JSON.stringify(startRoutes);
      bus.loop = bus.syncLoop();
      const publisher = new EventPublisher({ js: bus.js, store: o.store, logger: o.logger });
      bus.publisher = publisher.run(bus.stop.signal).catch((err: unknown) => {
        if (!bus.stop.signal.aborted) log.warn({ err }, "event publisher stopped");
      });
      bus.leaders = bus.publishElections(publisher).catch((err: unknown) => {
        if (!bus.stop.signal.aborted) log.warn({ err }, "leader events stopped");
      });
      log.info({ urls, external: server === undefined }, "cluster bus connected");
      return bus;
    } catch (err) {
      await server?.close();
      throw err;
    }
  }

  /** A leader event when this manager is elected (one per term; only the winner publishes it). */
  private async publishElections(publisher: EventPublisher): Promise<void> {
    const signal = this.stop.signal;
    let lastTerm = 0;
    for await (const s of this.o.store.leadershipChanges(signal)) {
      if (!s.isLeader || s.term === lastTerm) continue;
      lastTerm = s.term;
      void publisher.leaderChanged(this.o.nodeId, s.term, signal);
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
      clusterLabels,
    } = this.o.store.view((tx) => ({
      nodes: tx.nodes.list(),
      services: tx.services.list(),
      clusterLabels: tx.clusters.list()[0]?.spec?.labels ?? {},
    }));
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
      if (routesKey !== this.lastRoutes) {
        await this.server.updateRoutes(routes);
        this.lastRoutes = routesKey;
      }
    }
    const managers = storeNodes.filter((n) => n.managerStatus !== undefined);
    // A joining manager's server runs alone until the store names the others: streams made on it
    // then would be standalone copies that clash with the cluster's once it joins the routes.
    const lone = this.server !== undefined && this.lastRoutes === "[]";
    if (lone && !(managers.length === 1 && managers[0]?.id === this.o.nodeId)) return;
    const replicas = Math.min(3, Math.max(1, managers.length));
    const replicasNow = this.server === undefined ? 1 : this.lastRoutes === "[]" ? 1 : replicas;
    // Again when the managers grow: streams made while this server ran alone have one replica,
    // and losing that server would stop logs and events.
    if (this.eventsReplicas !== replicasNow) {
      await ensureEventStream(this.jsm, replicasNow);
      this.eventsReplicas = replicasNow;
    }
    const clusterRetention = this.retentionOr(DEFAULT_LOG_RETENTION, clusterLabels, "the cluster");
    for (const s of services) {
      const retention = this.retentionOr(clusterRetention, s.spec?.labels ?? {}, `service "${s.id}"`);
      const key = JSON.stringify({ retention, replicasNow });
      if (this.ensured.get(s.id) === key) continue;
      await ensureLogStream(this.jsm, s.id, retention, replicasNow);
      this.ensured.set(s.id, key);
    }
  }

  /** The retention `labels` set over `base`; a label that does not parse is logged and ignored. */
  private retentionOr(base: LogRetention, labels: Record<string, string>, of: string): LogRetention {
    try {
      return logRetentionFor(labels, base);
    } catch (err) {
      const key = `${of}:${JSON.stringify(labels)}`;
      if (!this.warned.has(key)) {
        this.warned.add(key);
        this.log.warn({ err }, `the log retention labels of ${of} are not valid; the default applies`);
      }
      return base;
    }
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
    await this.publisher;
    await this.leaders;
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
