// dispatcher_heartbeats_per_s: N simulated agents (SHOAL_BENCH_NODES, default 1,000) each with
// its own certificate and mTLS connection, heartbeating at the period the dispatcher returns
// (1 s ± 10 %), against a dispatcher on an in-memory store, for SHOAL_BENCH_SECONDS (10).
// dispatcher_process_cpu_share: CPU time of this process over wall time while measuring — the
// agents share the process, so it is an upper bound of the dispatcher's share.
import { percentile, reportFigure, silentLogger } from "@shoal/base";
import { createNodeKeyAndCsr, NodeCertificateProvider, RootCa } from "@shoal/pki";
import { Cluster, Node } from "@shoal/proto";
import { Store } from "@shoal/store";
import { ClusterServer } from "../src/cluster-server.js";
import { Dispatcher } from "../src/dispatcher/dispatcher.js";
import { SimulatedAgents, type SimulatedNode } from "../src/sim/simulated-agents.js";

const NODES = Number(process.env.SHOAL_BENCH_NODES ?? 1_000);
const SECONDS = Number(process.env.SHOAL_BENCH_SECONDS ?? 10);
const CLUSTER = "bench-cluster";

export async function run(): Promise<void> {
  const root = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
  // One key for every simulated node: the CA signs each node id into its own certificate.
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const issue = async (nodeId: string, role: "manager" | "worker") => ({
    rootCertPem: root.certPem,
    keyPem,
    certPem: (
      await root.issueNodeCertificate({ csrPem, nodeId, role, hosts: ["127.0.0.1"], nowMs: Date.now() })
    ).certPem,
  });
  const nodes: SimulatedNode[] = [];
  for (let i = 0; i < NODES; i++)
    nodes.push({ nodeId: `node-${i}`, tls: await issue(`node-${i}`, "worker") });
  const store = new Store({ logger: silentLogger() });
  await store.update((tx) =>
    tx.clusters.create(Cluster.fromPartial({ id: CLUSTER, spec: { name: "default" } })),
  );
  await store.batch((b) => {
    for (const n of nodes)
      b.update((tx) => tx.nodes.create(Node.fromPartial({ id: n.nodeId, spec: { name: n.nodeId } })));
  });
  const dispatcher = new Dispatcher({ store, logger: silentLogger() });
  const server = await ClusterServer.open({
    listenAddress: "127.0.0.1:0",
    certificates: new NodeCertificateProvider(await issue("manager-1", "manager")),
    clusterId: CLUSTER,
    services: { dispatcher: dispatcher.service() },
  });
  const leadership = new AbortController();
  const serving = dispatcher.run(leadership.signal);
  const sim = await SimulatedAgents.open({
    address: `127.0.0.1:${server.port}`,
    clusterId: CLUSTER,
    nodes,
    heartbeatsOnly: true,
  });
  try {
    await new Promise((r) => setTimeout(r, 2_000)); // every agent past its first heartbeat
    const before = dispatcher.stats.heartbeats;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1_000));
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    reportFigure(
      "dispatcher_heartbeats_per_s",
      ((dispatcher.stats.heartbeats - before) * 1_000) / elapsedMs,
      "1/s",
    );
    reportFigure("dispatcher_nodes", NODES, "nodes");
    reportFigure("dispatcher_process_cpu_share", (cpu.user + cpu.system) / 1_000 / elapsedMs, "cores");
    const periods = nodes.flatMap((n) => sim.view(n.nodeId).periods);
    reportFigure("dispatcher_period_p50_ms", percentile(periods, 50), "ms");
    reportFigure("dispatcher_marked_down", dispatcher.stats.markedDown, "nodes");
    reportFigure("dispatcher_sessions_opened", dispatcher.stats.sessions, "sessions");
  } finally {
    sim.close();
    leadership.abort();
    await serving;
    await server.close();
  }
}
