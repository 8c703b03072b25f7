// failover_control_api_p99_ms: three manager-main processes on loopback (default Raft timing:
// 100 ms ticks, election after 1–2 s of silence). Each trial kill -9's the leader process and
// times until the first CreateService through a follower succeeds (the client tries both
// followers in turn, 20 ms apart, each call with a 1 s deadline); then the killed manager is
// restarted from its data dir and the next trial waits until all three are reachable voters.
// SHOAL_BENCH_FAILOVERS trials (default 20).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, reportFigure } from "@shoal/base";
import type { ControlClient, JoinTokens } from "@shoal/proto";
import {
  allReachable,
  type BenchManager,
  call,
  control,
  freePort,
  kill,
  serviceSpec,
  startManager,
  until,
} from "./manager-processes.js";

const TRIALS = Number(process.env.SHOAL_BENCH_FAILOVERS ?? 20);

export async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "shoal-bench-failover-"));
  const managers: BenchManager[] = [];
  const clients = new Map<string, ControlClient>();
  const clientOf = async (m: BenchManager) => {
    let c = clients.get(m.address);
    if (c === undefined) {
      // Every client uses the first manager's certificate: its node stays a manager throughout.
      c = await control(m.address, join(root, "m0"), m.clusterId);
      clients.set(m.address, c);
    }
    return c;
  };
  try {
    const addresses = await Promise.all([0, 1, 2].map(async () => `127.0.0.1:${await freePort()}`));
    const first = await startManager(join(root, "m0"), addresses[0] as string, { init: true });
    managers.push(first);
    const tokens = await until("the join tokens", async () =>
      call<{ joinTokens: JoinTokens }>(await clientOf(first), "getJoinTokens", {}).then((r) => r.joinTokens),
    );
    for (const i of [1, 2]) {
      managers.push(
        await startManager(join(root, `m${i}`), addresses[i] as string, {
          join: tokens.manager,
          remote: first.address,
        }),
      );
    }
    const leaderOf = () =>
      until(
        "three reachable voters",
        async () => {
          for (const m of managers) {
            const leader = await allReachable(await clientOf(m), 3).catch(() => undefined);
            if (leader !== undefined) return leader;
          }
          return undefined;
        },
        120_000,
      );
    const samples: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const leaderId = await leaderOf();
      const index = managers.findIndex((m) => m.nodeId === leaderId);
      const leader = managers[index] as BenchManager;
      const followers = managers.filter((m) => m !== leader);
      const followerClients = await Promise.all(followers.map(clientOf));
      const t0 = performance.now();
      leader.child.kill("SIGKILL");
      for (let i = 0; ; i++) {
        try {
          await call(
            followerClients[i % followerClients.length] as ControlClient,
            "createService",
            {
              spec: serviceSpec(`failover-${trial}-${i}`),
            },
            1_000,
          );
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      samples.push(performance.now() - t0);
      await kill(leader);
      clients.get(leader.address)?.close();
      clients.delete(leader.address);
      managers[index] = await startManager(leader.dataDir, leader.address, { open: true });
    }
    reportFigure("failover_control_api_p50_ms", percentile(samples, 50), "ms");
    reportFigure("failover_control_api_p99_ms", percentile(samples, 99), "ms");
    reportFigure("failover_control_api_max_ms", Math.max(...samples), "ms");
  } finally {
    for (const c of clients.values()) c.close();
    for (const m of managers) await kill(m);
    await rm(root, { recursive: true, force: true });
  }
}
