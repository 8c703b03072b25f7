import { describe, expect, it } from "vitest";
import { CPU, GiB, node, nodes, placed } from "../test/fixtures.js";
import { planRebalance, type RebalanceService } from "./rebalance.js";
import type { PlacedTask, SchedulerNode } from "./types.js";

const web: RebalanceService = { serviceId: "web", constraints: [], preferences: [], platforms: [] };

function tasksOn(
  counts: Record<string, number>,
  serviceId = "web",
  extra: Partial<PlacedTask> = {},
): PlacedTask[] {
  const out: PlacedTask[] = [];
  for (const [nodeId, count] of Object.entries(counts)) {
    for (let i = 0; i < count; i++) out.push(placed(`${serviceId}-${nodeId}-${i}`, nodeId, serviceId, extra));
  }
  return out;
}

function after(
  ns: readonly SchedulerNode[],
  tasks: readonly PlacedTask[],
  moves: ReturnType<typeof planRebalance>,
) {
  const where = new Map(tasks.filter((t) => t.serviceId === "web").map((t) => [t.id, t.nodeId]));
  for (const m of moves) {
    expect(where.get(m.taskId)).toBe(m.fromNodeId);
    where.set(m.taskId, m.toNodeId);
  }
  const counts: Record<string, number> = Object.fromEntries(ns.map((n) => [n.id, 0]));
  for (const nodeId of where.values()) counts[nodeId] = (counts[nodeId] ?? 0) + 1;
  return counts;
}

describe("planRebalance", () => {
  it("spreads tasks onto nodes that were added", () => {
    const ns = nodes(6);
    const tasks = tasksOn({ n0: 6, n1: 6, n2: 6 });
    const moves = planRebalance(
      { nodes: ns, placedTasks: tasks, service: web, maxMoves: 100 },
      { random: 1 },
    );
    expect(moves).toHaveLength(9);
    expect(after(ns, tasks, moves)).toEqual({ n0: 3, n1: 3, n2: 3, n3: 3, n4: 3, n5: 3 });
  });

  it("proposes at most maxMoves moves, the most useful first", () => {
    const ns = nodes(3);
    const tasks = tasksOn({ n0: 9 });
    const moves = planRebalance({ nodes: ns, placedTasks: tasks, service: web, maxMoves: 2 }, { random: 1 });
    expect(moves).toHaveLength(2);
    expect(after(ns, tasks, moves)).toEqual({ n0: 7, n1: 1, n2: 1 });
  });

  it("proposes nothing when the spread is already within one task per node", () => {
    const ns = nodes(3);
    const moves = planRebalance(
      { nodes: ns, placedTasks: tasksOn({ n0: 2, n1: 1, n2: 2 }), service: web, maxMoves: 10 },
      { random: 1 },
    );
    expect(moves).toEqual([]);
  });

  it("never moves a task to a node that fails a filter", () => {
    const ns = [
      node("full", {}),
      node("drained", { availability: "drain" }),
      node("small", { resources: { nanoCpus: CPU, memoryBytes: GiB } }),
      node("manager", { role: "manager" }),
      node("arm", { platform: { os: "linux", architecture: "arm64" } }),
      node("port", {}),
      node("ok", {}),
    ];
    const port = { publishedPort: 8080, protocol: "tcp" as const };
    const tasks = [
      ...tasksOn({ full: 6 }, "web", { reservations: { nanoCpus: CPU / 2, memoryBytes: 2 * GiB } }),
      placed("other", "port", "other", { hostPorts: [port] }),
    ];
    const service: RebalanceService = {
      ...web,
      constraints: ["node.role == worker"],
      platforms: [{ os: "linux", architecture: "amd64" }],
      maxReplicasPerNode: 3,
    };
    const moves = planRebalance({ nodes: ns, placedTasks: tasks, service, maxMoves: 100 }, { random: 3 });
    // "port" accepts tasks: the service's tasks publish no port here.
    expect(new Set(moves.map((m) => m.toNodeId))).toEqual(new Set(["ok", "port"]));
    expect(after(ns, tasks, moves)).toMatchObject({ full: 2, ok: 2, port: 2 });

    const withPorts = tasksOn({ full: 4 }, "web", { hostPorts: [port] }).map((t, i) => ({
      ...t,
      hostPorts: i === 0 ? [port] : [],
    }));
    const portMoves = planRebalance(
      {
        nodes: ns,
        placedTasks: [...withPorts, placed("other", "port", "other", { hostPorts: [port] })],
        service,
        maxMoves: 100,
      },
      { random: 3 },
    );
    expect(portMoves.filter((m) => m.taskId === withPorts[0]?.id).every((m) => m.toNodeId !== "port")).toBe(
      true,
    );
  });

  it("balances preference groups first, then nodes inside each group", () => {
    const ns = [
      node("a0", { labels: { zone: "a" } }),
      node("a1", { labels: { zone: "a" } }),
      node("b0", { labels: { zone: "b" } }),
      node("b1", { labels: { zone: "b" } }),
    ];
    const tasks = tasksOn({ a0: 8 });
    const service = { ...web, preferences: [{ spreadDescriptor: "node.labels.zone" }] };
    const moves = planRebalance({ nodes: ns, placedTasks: tasks, service, maxMoves: 100 }, { random: 5 });
    expect(after(ns, tasks, moves)).toEqual({ a0: 2, a1: 2, b0: 2, b1: 2 });
    expect(moves).toHaveLength(6);
  });

  it("leaves tasks on ineligible nodes and tasks that are shutting down alone", () => {
    const ns = [node("gone", { state: "down" }), node("a"), node("b")];
    const tasks = [
      ...tasksOn({ gone: 4 }),
      ...tasksOn({ a: 4 }, "web", { isActive: false }),
      ...tasksOn({ b: 1 }),
    ];
    const moves = planRebalance(
      { nodes: ns, placedTasks: tasks, service: web, maxMoves: 100 },
      { random: 1 },
    );
    expect(moves).toEqual([]);
  });

  it("is deterministic for a seed", () => {
    const ns = nodes(8);
    const tasks = tasksOn({ n0: 10, n1: 10 });
    const a = planRebalance({ nodes: ns, placedTasks: tasks, service: web, maxMoves: 7 }, { random: 9 });
    const b = planRebalance({ nodes: ns, placedTasks: tasks, service: web, maxMoves: 7 }, { random: 9 });
    expect(a).toEqual(b);
  });
});
