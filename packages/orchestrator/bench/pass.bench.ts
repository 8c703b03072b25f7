// Whole-cluster passes of the pure decision code (no store, no processes): the cost of one
// reconcileCluster call for 100 services × 1,000 replicas on 1,000 nodes, from nothing, in the
// steady state, and after 100 nodes went down. The manager-level figures of issue 15
// (e2e_sim_100k_tasks_s, …) need the store and the manager and are not measured here.

import { reportFigure } from "@shoal/base";
import { ClusterSpec, NodeState, ServiceSpec, TaskState } from "@shoal/proto";
import { SimCluster } from "../test/sim.js";

function timed(what: () => void): { seconds: number; cpuSeconds: number } {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  what();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function cluster(nodes: number, services: number, replicas: number): SimCluster {
  const sim = new SimCluster(42);
  // The default pool (10.42.0.0/16 in /24s) holds 256 node subnets; 1,000 nodes need a /14.
  sim.cluster = {
    id: "c",
    spec: ClusterSpec.fromPartial({ allocator: { nodeSubnetPool: "10.40.0.0/14" } }),
    networkBootstrapKeys: [],
    encryptionKeyLamportClock: 0,
  };
  for (let i = 0; i < nodes; i++) sim.addNode(128, i % 2 === 0 ? "a" : "b");
  for (let s = 0; s < services; s++) {
    const spec = ServiceSpec.fromPartial({
      name: `svc${s}`,
      mode: { $case: "replicated", value: { replicas } },
      taskTemplate: {
        container: { image: "busybox" },
        resources: { reservations: { nanoCpus: 1e7, memoryBytes: 2 ** 20 } },
      },
    });
    sim.putService({ id: sim.id("s"), spec, specVersion: 0, pendingDelete: false });
  }
  return sim;
}

function report(name: string, t: { seconds: number; cpuSeconds: number }): void {
  reportFigure(name, t.seconds, "s");
  reportFigure(`${name.replace(/_s$/, "")}_cpu_s`, t.cpuSeconds, "s");
}

export async function run(): Promise<void> {
  const small = cluster(100, 10, 100);
  small.reconcile(); // warm the JIT
  const sim = cluster(1_000, 100, 1_000);
  report(
    "orch_pass_create_100k_tasks_1k_nodes_s",
    timed(() => sim.reconcile()),
  );
  const assigned = [...sim.tasks.values()].filter((t) => t.status?.state === TaskState.ASSIGNED).length;
  if (assigned !== 100_000) throw new Error(`benchmark assigned ${assigned} of 100000 tasks`);
  sim.agentStep();
  report(
    "orch_pass_steady_100k_tasks_s",
    timed(() => sim.reconcile()),
  );
  const nodes = [...sim.nodes.values()].slice(0, 100);
  for (const n of nodes)
    if (n.status !== undefined) sim.putNode({ ...n, status: { ...n.status, state: NodeState.DOWN } });
  report(
    "orch_pass_replace_100_of_1k_nodes_down_s",
    timed(() => sim.reconcile()),
  );
  reportFigure("orch_bench_rss_mib", Math.round(process.memoryUsage().rss / 2 ** 20), "MiB");
}
