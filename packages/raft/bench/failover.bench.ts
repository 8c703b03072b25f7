// Failover: kill -9 the leader of a 3-process cluster under load and time until a new leader
// commits its first entry. Default timings (tick 100 ms, election 10 ticks, PreVote and
// CheckQuorum on). The killed member is restarted from its WAL before the next trial.
import { percentile, reportFigure } from "@shoal/base";
import { BenchCluster, type Member } from "./cluster.js";

const TRIALS = Number(process.env.SHOAL_BENCH_FAILOVER_TRIALS ?? 20);
/** SHOAL_BENCH_TRACE=1: print each trial's election events (on stderr, timed from the kill). */
const TRACE = process.env.SHOAL_BENCH_TRACE === "1";
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
      if (TRACE) await Promise.all(others.map((m) => m.trace()));
      const firstCommit = Promise.race(others.map((m) => nextCommitAfter(m, term)));
      const killedAt = Date.now();
      cluster.kill(leader.id);
      const at = await firstCommit;
      samples.push(at - killedAt);
      if (TRACE) await printTrial(trial, leader.id, killedAt, at, others);
      const back = await cluster.spawn(leader.id);
      cluster.broadcastPeers();
      back.send(LOAD);
      // Let the restarted member rejoin so the next trial again starts from three healthy members.
      await waitCaughtUp(back, await cluster.leader());
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

async function waitCaughtUp(m: Member, leader: Member): Promise<void> {
  // Caught up = applied what the leader had applied when we started waiting. Only knowing a leader
  // is not enough: a member that rejoined thousands of entries behind makes the next trial's new
  // leader wait for it to catch up before its first commit (the other member is the one killed).
  const target = (await leader.status()).applied;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await m.status();
    if (s.leader !== 0 && s.applied >= target) return;
    if (Date.now() > deadline)
      throw new Error(`restarted member ${m.id} did not catch up to index ${target} within 20s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function printTrial(trial: number, killed: number, killedAt: number, at: number, others: Member[]) {
  // Give the losers' last vote answers a moment to arrive, so the trace shows how the round ended.
  await new Promise((r) => setTimeout(r, 200));
  const lines = [`trial ${trial}: killed ${killed}, first commit after ${at - killedAt} ms`];
  for (const m of others) {
    const t = await m.trace();
    const save = [...t.saveMs].sort((a, b) => a - b);
    const p = (q: number) => (save.length === 0 ? 0 : save[Math.floor((save.length - 1) * q)]!).toFixed(1);
    lines.push(
      `  member ${m.id}: saves ${save.length} p50 ${p(0.5)} p99 ${p(0.99)} max ${p(1)} ms, loop max ${t.loopMaxMs.toFixed(0)} ms`,
    );
    for (const e of t.events) {
      const f = e.fields;
      const what =
        e.msg === "raft node role changed"
          ? `role ${f.role} leader ${f.leader} term ${f.term}`
          : e.msg === "raft vote decision"
            ? `${f.type} from ${f.from} (t${f.candidateTerm} ${f.logTerm}/${f.index}; ours t${f.term} ${f.lastTerm}/${f.lastIndex}) ${f.granted ? "granted" : `refused: ${f.why}`}`
            : e.msg === "raft vote counted"
              ? `${f.kind} from ${f.from} ${f.granted ? "yes" : "no"} -> ${f.result}`
              : `${e.msg} ${JSON.stringify(f)}`;
      lines.push(`    +${String(e.at - killedAt).padStart(5)} ms ${what}`);
    }
  }
  process.stderr.write(`${lines.join("\n")}\n`);
}
