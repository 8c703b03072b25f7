// Failover: kill -9 the leader of a 3-process cluster under load and time until a new leader
// commits its first entry. Default timings (tick 100 ms, election 10 ticks, PreVote and
// CheckQuorum on). The killed member is restarted from its WAL before the next trial.
import { percentile, reportFigure } from "@shoal/base";
import { BenchCluster, type Member } from "./cluster.js";

const TRIALS = Number(process.env.SHOAL_BENCH_FAILOVER_TRIALS ?? 20);
const LOAD = { cmd: "loadForever", concurrency: 32, valueBytes: 256 } as const;

export async function run(): Promise<void> {
  const cluster = new BenchCluster({ tickMs: 100, electionTicks: 10 });
  const samples: number[] = [];
  try {
    await cluster.start();
    for (const m of cluster.members.values()) m.send(LOAD);
    for (let trial = 0; trial < TRIALS; trial++) {
      const leader = await cluster.leader();
      const { term } = await leader.status();
      await new Promise((r) => setTimeout(r, 300));
      const others = [...cluster.members.values()].filter((m) => m !== leader);
      const firstCommit = Promise.race(others.map((m) => nextCommitAfter(m, term)));
      const killedAt = Date.now();
      cluster.kill(leader.id);
      const at = await firstCommit;
      samples.push(at - killedAt);
      const back = await cluster.spawn(leader.id);
      cluster.broadcastPeers();
      back.send(LOAD);
      // Let the restarted member rejoin so the next trial again starts from three healthy members.
      await waitCaughtUp(back);
    }
    reportFigure("raft_failover_p50_ms", percentile(samples, 50), "ms");
    reportFigure("raft_failover_p99_ms", percentile(samples, 99), "ms");
  } finally {
    await cluster.stop();
  }
}

async function nextCommitAfter(m: Member, term: number): Promise<number> {
  for (;;) {
    const c = await m.next("firstCommit", 30_000);
    if (c.term > term) return c.at;
  }
}

async function waitCaughtUp(m: Member): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await m.status();
    if (s.leader !== 0 && s.applied > 0) return;
    if (Date.now() > deadline) throw new Error(`restarted member ${m.id} did not rejoin within 20s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
