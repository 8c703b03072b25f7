// Whole-cluster placement benchmarks: 100k tasks on 1k nodes, 1M tasks on 10k nodes.
import { reportFigure } from "@shoal/base";
import { type PlacedTask, schedule } from "../src/index.js";
import { benchInput } from "./shape.js";

interface Timing {
  /** Wall-clock seconds of the schedule() call. */
  seconds: number;
  /** CPU seconds (user + system) of the process during the call: less sensitive to a busy machine. */
  cpuSeconds: number;
  placed: number;
}

function timeOnce(nodeCount: number, services: number, perService: number): Timing {
  const input = benchInput(nodeCount, services, perService);
  const cpuStarted = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = schedule(input, { random: 42 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wanted = services * perService;
  if (result.assignments.length !== wanted) {
    throw new Error(
      `benchmark placed ${result.assignments.length} of ${wanted} tasks: ${result.unplaced[0]?.message}`,
    );
  }
  return { seconds, cpuSeconds, placed: result.assignments.length };
}

export async function run(): Promise<void> {
  // Warm the JIT on a small cluster so the figures measure steady-state code.
  timeOnce(100, 10, 1000);
  const runs = [timeOnce(1000, 100, 1000), timeOnce(1000, 100, 1000), timeOnce(1000, 100, 1000)];
  runs.sort((a, b) => a.seconds - b.seconds);
  const median = runs[1] as Timing;
  reportFigure("scheduler_100k_tasks_1k_nodes_s", median.seconds, "s");
  reportFigure("scheduler_100k_tasks_1k_nodes_cpu_s", median.cpuSeconds, "s");
  reportFigure("scheduler_placements_per_s", Math.round(median.placed / median.seconds), "placements/s");
  if (process.env.SHOAL_BENCH_SKIP_1M === "1") return;
  const steady = timeSteadyState();
  reportFigure("scheduler_50_pending_1m_placed_s", steady.seconds, "s");
  reportFigure("scheduler_50_pending_1m_placed_cpu_s", steady.cpuSeconds, "s");
  const big = timeOnce(10_000, 1000, 1000);
  reportFigure("scheduler_1m_tasks_10k_nodes_s", big.seconds, "s");
  reportFigure("scheduler_1m_tasks_10k_nodes_cpu_s", big.cpuSeconds, "s");
}

/**
 * The manager's steady state: a big cluster already running 1M tasks, a few tasks pending. Most of
 * the call is indexing the placed tasks.
 */
function timeSteadyState(): Timing {
  const input = benchInput(10_000, 1000, 10);
  const placedTasks: PlacedTask[] = new Array(1_000_000);
  for (let i = 0; i < placedTasks.length; i++) {
    const group = input.pending[i % 1000] as (typeof input.pending)[number];
    placedTasks[i] = {
      id: `placed.${i}`,
      nodeId: (input.nodes[i % 10_000] as { id: string }).id,
      serviceId: group.serviceId,
      specVersion: "0",
      reservations: group.reservations,
      hostPorts: [],
      holdsResources: true,
      isActive: true,
    };
  }
  const steady = { ...input, placedTasks, pending: input.pending.slice(0, 5) };
  const runs: Timing[] = [];
  for (let r = 0; r < 3; r++) {
    const cpuStarted = process.cpuUsage();
    const started = process.hrtime.bigint();
    const result = schedule(steady, { random: r });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    if (result.assignments.length !== 50)
      throw new Error(`steady-state benchmark placed ${result.assignments.length} of 50`);
    runs.push({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, placed: 50 });
  }
  return runs.sort((a, b) => a.cpuSeconds - b.cpuSeconds)[1] as Timing;
}
