// A rolling update of 100 replicas, 10 at a time, over simulated agents (test/update-sim.ts):
// the leader's real decision code (orchestrators, allocator, scheduler, updater) and agents
// that take 1 s to start a container, pass its health check 500 ms later and stop one in
// 200 ms, on a ManualClock. `rolling_update_100_p10_sim_s` is the cluster time from the spec
// change to the update's COMPLETED status (Swarm's default 5 s monitor included, stop-first);
// `_cpu_s` is what computing it cost this process.
import { reportFigure } from "@shoal/base";
import { UpdateState } from "@shoal/proto";
import { RollSim } from "../test/update-sim.js";

export function run(): void {
  const sim = new RollSim({
    replicas: 100,
    nodes: 10,
    update: { parallelism: 10, monitorMs: 5_000 },
    rollback: {},
    healthCheck: true,
    bad: false,
    failChance: 0,
    startMs: 1_000,
    stopMs: 200,
    healthyAfterMs: 500,
    crashAfterMs: 1_000,
    leaderChangesMs: [],
    seed: 1,
  });
  sim.runUntil(sim.clock.now() + 600_000);
  const cpu0 = process.cpuUsage();
  sim.startUpdate();
  const startedAtMs = sim.clock.now();
  sim.runUntil(
    startedAtMs + 3_600_000,
    () => {},
    () => sim.service.updateStatus?.state === UpdateState.COMPLETED,
  );
  const status = sim.service.updateStatus;
  if (status?.state !== UpdateState.COMPLETED)
    throw new Error(`rolling update did not complete: ${status?.state} "${status?.message}"`);
  const cpu = process.cpuUsage(cpu0);
  reportFigure("rolling_update_100_p10_sim_s", (status.completedAtMs - startedAtMs) / 1_000, "s");
  reportFigure("rolling_update_100_p10_sim_cpu_s", (cpu.user + cpu.system) / 1e6, "s");
}
