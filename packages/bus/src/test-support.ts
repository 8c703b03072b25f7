import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { silentLogger } from "@shoal/base";
import { RootCa } from "@shoal/pki";
import { connectBus } from "./connect.js";
import type { HostPort, NodeAccess } from "./nats-config.js";
import { NatsSupervisor, type NatsTlsMaterial } from "./nats-supervisor.js";

/** A free loopback port (bound and released; good enough for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestCluster {
  dir: string;
  ca: RootCa;
  servers: NatsSupervisor[];
  clusterAddrs: HostPort[];
  urls: string[];
  material(nodeId: string, role: "manager" | "worker"): Promise<NatsTlsMaterial>;
  /** A connection as `nodeId` (a manager unless the node is listed as a worker). */
  connect(nodeId: string, servers?: string[]): Promise<NatsConnection>;
  stop(): Promise<void>;
}

/**
 * `size` supervised nats-servers on loopback, clustered, with certificates from a fresh cluster CA:
 * managers m1..mN (one server each) plus the given workers as users.
 */
export async function startTestCluster(size: number, workers: string[] = []): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-bus-"));
  const ca = await RootCa.create({ clusterId: "testcluster", nowMs: Date.now() });
  const cache = new Map<string, NatsTlsMaterial>();
  const material = async (nodeId: string, role: "manager" | "worker") => {
    let m = cache.get(nodeId);
    if (m === undefined) {
      const issued = await ca.issueNodeMaterial({
        nodeId,
        role,
        hosts: ["127.0.0.1", "localhost"],
        nowMs: Date.now(),
      });
      m = { caPem: issued.rootCertPem, certPem: issued.certPem, keyPem: issued.keyPem };
      cache.set(nodeId, m);
    }
    return m;
  };
  const managers = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  const nodes: NodeAccess[] = [
    ...managers.map((nodeId) => ({ nodeId, role: "manager" as const })),
    ...workers.map((nodeId) => ({ nodeId, role: "worker" as const })),
  ];
  const clusterAddrs: HostPort[] = [];
  const clientAddrs: HostPort[] = [];
  for (let i = 0; i < size; i++) {
    clusterAddrs.push({ host: "127.0.0.1", port: await freePort() });
    clientAddrs.push({ host: "127.0.0.1", port: await freePort() });
  }
  const servers = await Promise.all(
    managers.map(async (id, i) =>
      NatsSupervisor.open({
        dataDir: join(dir, id),
        serverName: id,
        client: clientAddrs[i] as HostPort,
        cluster: clusterAddrs[i] as HostPort,
        routes: clusterAddrs.filter((_, j) => j !== i),
        nodes,
        tls: await material(id, "manager"),
        routeSecret: "test-route-secret",
        logger: silentLogger(),
      }),
    ),
  );
  const urls = servers.map((s) => s.url);
  const conns: NatsConnection[] = [];
  // JetStream answers once the servers have elected a meta leader, a moment after the routes connect.
  const probe = await connectBus({ servers: urls, nodeId: "m1", tls: await material("m1", "manager") });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await (await jetstreamManager(probe, { timeout: 2000 })).getAccountInfo();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
  await probe.close();
  return {
    dir,
    ca,
    servers,
    clusterAddrs,
    urls,
    material,
    async connect(nodeId, only) {
      const role = workers.includes(nodeId) ? "worker" : "manager";
      const nc = await connectBus({ servers: only ?? urls, nodeId, tls: await material(nodeId, role) });
      conns.push(nc);
      return nc;
    },
    async stop() {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      await Promise.all(servers.map((s) => s.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
