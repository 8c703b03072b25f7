import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONSTRAINT_POOL, nodesArb } from "../test/arbitraries.js";
import { compileConstraints, nodeMatchesConstraints } from "./constraints.js";
import { platformMatches } from "./platform.js";
import { planRebalance, type RebalanceService } from "./rebalance.js";
import type { PlacedTask, SchedulerNode } from "./types.js";

const serviceArb: fc.Arbitrary<RebalanceService> = fc.record({
  serviceId: fc.constant("web"),
  constraints: fc.subarray(CONSTRAINT_POOL.slice(0, 5), { maxLength: 1 }),
  preferences: fc.constantFrom(
    [],
    [{ spreadDescriptor: "node.labels.zone" }],
    [{ spreadDescriptor: "node.labels.zone" }, { spreadDescriptor: "node.labels.rack" }],
  ),
  maxReplicasPerNode: fc.constantFrom(0, 0, 2, 4),
  platforms: fc.constantFrom([], [{ os: "linux", architecture: "amd64" }]),
});

const caseArb = nodesArb(1, 10).chain((nodes) =>
  fc.record({
    nodes: fc.constant(nodes),
    service: serviceArb,
    maxMoves: fc.integer({ min: 0, max: 30 }),
    seed: fc.integer(),
    tasks: fc.array(
      fc.record({
        node: fc.integer({ min: 0, max: nodes.length - 1 }),
        service: fc.constantFrom("web", "web", "web", "other"),
        cpuTenths: fc.integer({ min: 0, max: 8 }),
        memoryMiB: fc.constantFrom(0, 512, 2048),
        port: fc.constantFrom(false, false, true),
      }),
      { maxLength: 40 },
    ),
  }),
);

interface Case {
  nodes: SchedulerNode[];
  tasks: { node: number; service: string; cpuTenths: number; memoryMiB: number; port: boolean }[];
}

function toTasks(c: Case): PlacedTask[] {
  return c.tasks.map((t, i) => ({
    id: `t${i}`,
    nodeId: c.nodes[t.node].id,
    serviceId: t.service,
    specVersion: "1",
    reservations: { nanoCpus: t.cpuTenths * 1e8, memoryBytes: t.memoryMiB * 1024 ** 2 },
    hostPorts: t.port ? [{ publishedPort: 9000 + i, protocol: "tcp" as const }] : [],
    holdsResources: true,
    isActive: true,
  }));
}

describe("planRebalance properties", () => {
  it("moves only improve balance, level by level, and every target passes the filters", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const tasks = toTasks(c);
        const moves = planRebalance(
          { nodes: c.nodes, placedTasks: tasks, service: c.service, maxMoves: c.maxMoves },
          { random: c.seed },
        );
        expect(moves.length).toBeLessThanOrEqual(c.maxMoves);
        const constraints = compileConstraints(c.service.constraints);
        const eligible = (n: SchedulerNode) =>
          n.state === "ready" &&
          n.availability === "active" &&
          nodeMatchesConstraints(constraints, n) &&
          platformMatches(c.service.platforms, n.platform);
        const nodeById = new Map(c.nodes.map((n) => [n.id, n]));
        const where = new Map(tasks.map((t) => [t.id, t.nodeId]));
        const taskById = new Map(tasks.map((t) => [t.id, t]));
        const levels = c.service.preferences.map((p) => p.spreadDescriptor.slice("node.labels.".length));
        // Potential: per level, the sum of squared task counts of the service's groups; the node
        // level last. Every move must lower it lexicographically.
        const potential = (): number[] => {
          const out: number[] = [];
          for (let depth = 1; depth <= levels.length + 1; depth++) {
            const perGroup = new Map<string, number>();
            for (const [id, nodeId] of where) {
              const t = taskById.get(id) as PlacedTask;
              const n = nodeById.get(nodeId) as SchedulerNode;
              if (t.serviceId !== "web" || !eligible(n)) continue;
              const path =
                depth <= levels.length
                  ? levels.slice(0, depth).map((k) => (Object.hasOwn(n.labels, k) ? `=${n.labels[k]}` : "-"))
                  : [n.id];
              const key = path.join("/");
              perGroup.set(key, (perGroup.get(key) ?? 0) + 1);
            }
            out.push([...perGroup.values()].reduce((s, v) => s + v * v, 0));
          }
          return out;
        };
        const lexLess = (a: number[], b: number[]) => {
          for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
          return false;
        };
        let before = potential();
        for (const m of moves) {
          const t = taskById.get(m.taskId) as PlacedTask;
          expect(t.serviceId).toBe("web");
          expect(where.get(m.taskId)).toBe(m.fromNodeId);
          const target = nodeById.get(m.toNodeId) as SchedulerNode;
          expect(eligible(target)).toBe(true);
          where.set(m.taskId, m.toNodeId);
          const onTarget = [...where]
            .filter(([, n]) => n === target.id)
            .map(([id]) => taskById.get(id) as PlacedTask);
          const cpu = onTarget.reduce((s, x) => s + x.reservations.nanoCpus, 0);
          const memory = onTarget.reduce((s, x) => s + x.reservations.memoryBytes, 0);
          expect(cpu).toBeLessThanOrEqual(target.resources.nanoCpus);
          expect(memory).toBeLessThanOrEqual(target.resources.memoryBytes);
          const ports = onTarget.flatMap((x) => x.hostPorts.map((p) => `${p.publishedPort}/${p.protocol}`));
          expect(new Set(ports).size).toBe(ports.length);
          if ((c.service.maxReplicasPerNode ?? 0) > 0) {
            expect(onTarget.filter((x) => x.serviceId === "web").length).toBeLessThanOrEqual(
              c.service.maxReplicasPerNode as number,
            );
          }
          const now = potential();
          expect(lexLess(now, before)).toBe(true);
          before = now;
        }
      }),
      { numRuns: 300 },
    );
  });

  it("without limits, reaches within one task per node", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 10 }),
        fc.integer(),
        (perNode, seed) => {
          const nodes = perNode.map((_, i) => ({
            id: `n${i}`,
            hostname: `h${i}`,
            role: "worker" as const,
            labels: {},
            engineLabels: {},
            platform: { os: "linux", architecture: "amd64" },
            availability: "active" as const,
            state: "ready" as const,
            resources: { nanoCpus: 64e9, memoryBytes: 2 ** 40 },
            addr: "10.0.0.1",
          }));
          const tasks: PlacedTask[] = perNode.flatMap((count, i) =>
            Array.from({ length: count }, (_, k) => ({
              id: `t${i}.${k}`,
              nodeId: `n${i}`,
              serviceId: "web",
              specVersion: "1",
              reservations: { nanoCpus: 0, memoryBytes: 0 },
              hostPorts: [],
              holdsResources: true,
              isActive: true,
            })),
          );
          const moves = planRebalance(
            {
              nodes,
              placedTasks: tasks,
              service: { serviceId: "web", constraints: [], preferences: [], platforms: [] },
              maxMoves: 1000,
            },
            { random: seed },
          );
          const counts = [...perNode];
          for (const m of moves) {
            counts[Number(m.fromNodeId.slice(1))]--;
            counts[Number(m.toNodeId.slice(1))]++;
          }
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
