// Commit throughput and latency: 3 members as separate processes, gRPC on loopback, fsync on.
// Proposers run inside the leader process (no client RPC hop), each waiting for its entry to be
// applied on the leader before proposing the next.
import { percentile, reportFigure } from "@shoal/base";
import { BenchCluster } from "./cluster.js";

export async function run(): Promise<void> {
  const cluster = new BenchCluster({ tickMs: 100, electionTicks: 10 });
  try {
    await cluster.start();
    const leader = await cluster.leader();

    let p = leader.next("loadResult", 60_000);
    leader.send({ cmd: "load", concurrency: 1, valueBytes: 256, durationMs: 3000, warmupMs: 500 });
    const one = await p;
    reportFigure("raft_commit_p50_ms_1client", percentile(one.latenciesMs, 50), "ms");

    p = leader.next("loadResult", 60_000);
    leader.send({ cmd: "load", concurrency: 256, valueBytes: 256, durationMs: 5000, warmupMs: 1000 });
    const many = await p;
    reportFigure("raft_commits_per_s", Math.round(many.commits / (many.elapsedMs / 1000)), "commits/s");
    reportFigure("raft_commit_p99_ms_256clients", percentile(many.latenciesMs, 99), "ms");
    if (many.errors > 0) process.stderr.write(`raft commits bench: ${many.errors} proposals failed\n`);
  } finally {
    await cluster.stop();
  }
}
