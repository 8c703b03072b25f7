// Whole-cluster placement benchmarks: 100k tasks on 1k nodes, 1M tasks on 10k nodes.
import { reportFigure } from "@shoal/base";
import { schedule } from "../src/index.js";
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
  const big = timeOnce(10_000, 1000, 1000);
  reportFigure("scheduler_1m_tasks_10k_nodes_s", big.seconds, "s");
  reportFigure("scheduler_1m_tasks_10k_nodes_cpu_s", big.cpuSeconds, "s");
}
