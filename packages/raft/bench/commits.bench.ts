// Commit throughput and latency: 3 members as separate processes, gRPC on loopback, fsync on.
// Proposers run inside the leader process (no client RPC hop), each waiting for its entry to be
// applied on the leader before proposing the next.
import { open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, reportFigure } from "@shoal/base";
import { BenchCluster } from "./cluster.js";

/**
 * The disk's own floor for the latency figures: a small write into preallocated space plus
 * fdatasync, as the WAL does per batch, in the same directory the members use.
 */
async function fdatasyncP50Ms(): Promise<number> {
  const path = join(tmpdir(), `shoal-fsync-probe-${process.pid}`);
  const fh = await open(path, "w+");
  try {
    await fh.write(Buffer.alloc(1024 * 1024));
    await fh.sync();
    const samples: number[] = [];
    const buf = Buffer.alloc(512, 1);
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      await fh.write(buf, 0, buf.length, i * 512);
      await fh.datasync();
      samples.push(performance.now() - t0);
    }
    return percentile(samples, 50);
  } finally {
    await fh.close();
    await rm(path, { force: true });
  }
}

export async function run(): Promise<void> {
  reportFigure("raft_disk_fdatasync_p50_ms", await fdatasyncP50Ms(), "ms");
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
