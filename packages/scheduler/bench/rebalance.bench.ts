// Rebalance planner: 20k tasks of one service crowded on half of a 10k-node cluster (the other
// half just joined); plan 1,000 moves, without and with a zone preference.
import { reportFigure } from "@shoal/base";
import { type PlacedTask, planRebalance } from "../src/index.js";
import { benchInput } from "./shape.js";

export async function run(): Promise<void> {
  const { nodes } = benchInput(10_000, 1, 1);
  const placedTasks: PlacedTask[] = [];
  for (let i = 0; i < 20_000; i++) {
    placedTasks.push({
      id: `web.${i}`,
      nodeId: (nodes[i % 5000] as { id: string }).id,
      serviceId: "web",
      specVersion: "1",
      reservations: { nanoCpus: 1e8, memoryBytes: 64 * 1024 ** 2 },
      hostPorts: [],
      holdsResources: true,
      isActive: true,
    });
  }
  for (const [name, preferences] of [
    ["scheduler_rebalance_1k_moves_10k_nodes_s", []],
    ["scheduler_rebalance_1k_moves_10k_nodes_zones_s", [{ spreadDescriptor: "node.labels.zone" }]],
  ] as const) {
    const cpuStarted = process.cpuUsage();
    const started = process.hrtime.bigint();
    const moves = planRebalance(
      {
        nodes,
        placedTasks,
        service: { serviceId: "web", constraints: ["node.role == worker"], preferences, platforms: [] },
        maxMoves: 1000,
      },
      { random: 7 },
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStarted);
    if (moves.length !== 1000) throw new Error(`rebalance benchmark planned ${moves.length} of 1000 moves`);
    reportFigure(name, seconds, "s");
    // User + system CPU of the process during the call: less sensitive to a busy machine.
    reportFigure(name.replace(/_s$/, "_cpu_s"), (cpu.user + cpu.system) / 1e6, "s");
  }
}
