import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { scheduleInputArb } from "../test/arbitraries.js";
import { group, input, node, nodes } from "../test/fixtures.js";
import { compileConstraints, nodeMatchesConstraints } from "./constraints.js";
import { platformMatches } from "./platform.js";
import { schedule } from "./schedule.js";
import type { PendingGroup, ScheduleInput, SchedulerNode } from "./types.js";

const RUNS = { numRuns: 200 };

function groupOfTask(i: ScheduleInput): Map<string, PendingGroup> {
  const m = new Map<string, PendingGroup>();
  for (const g of i.pending) for (const t of g.tasks) m.set(t.id, g);
  return m;
}

describe("schedule properties", () => {
  it("never reserves more than a node's capacity", () => {
    fc.assert(
      fc.property(
        scheduleInputArb,
        fc.integer(),
        fc.constantFrom("spread" as const, "binpack" as const),
        (i, seed, strategy) => {
          const r = schedule(i, { random: seed, strategy });
          const byTask = groupOfTask(i);
          for (const n of i.nodes) {
            let cpu = 0;
            let memory = 0;
            for (const t of i.placedTasks) {
              if (t.nodeId !== n.id || !t.holdsResources) continue;
              cpu += t.reservations.nanoCpus;
              memory += t.reservations.memoryBytes;
            }
            for (const a of r.assignments) {
              if (a.nodeId !== n.id) continue;
              const g = byTask.get(a.taskId) as PendingGroup;
              cpu += g.reservations.nanoCpus;
              memory += g.reservations.memoryBytes;
            }
            expect(cpu).toBeLessThanOrEqual(n.resources.nanoCpus);
            expect(memory).toBeLessThanOrEqual(n.resources.memoryBytes);
          }
        },
      ),
      RUNS,
    );
  });

  it("only assigns to ready, active nodes that satisfy constraints, platform, ports and max-per-node", () => {
    fc.assert(
      fc.property(scheduleInputArb, fc.integer(), (i, seed) => {
        const r = schedule(i, { random: seed });
        const byTask = groupOfTask(i);
        const nodeById = new Map(i.nodes.map((n) => [n.id, n]));
        const port80 = new Map<string, number>();
        const perService = new Map<string, number>();
        for (const t of i.placedTasks) {
          if (t.hostPorts.length > 0 && t.holdsResources) {
            port80.set(t.nodeId, (port80.get(t.nodeId) ?? 0) + 1);
          }
          if (!t.isActive) continue;
          perService.set(
            `${t.serviceId}/${t.nodeId}`,
            (perService.get(`${t.serviceId}/${t.nodeId}`) ?? 0) + 1,
          );
        }
        const newPerService = new Map<string, number>();
        for (const a of r.assignments) {
          const g = byTask.get(a.taskId) as PendingGroup;
          const n = nodeById.get(a.nodeId) as SchedulerNode;
          expect(n.state).toBe("ready");
          expect(n.availability).toBe("active");
          expect(nodeMatchesConstraints(compileConstraints(g.constraints), n)).toBe(true);
          expect(platformMatches(g.platforms, n.platform)).toBe(true);
          if (g.hostPorts.length > 0) port80.set(n.id, (port80.get(n.id) ?? 0) + 1);
          const key = `${g.serviceId}/${n.id}`;
          newPerService.set(key, (newPerService.get(key) ?? 0) + 1);
          if ((g.maxReplicasPerNode ?? 0) > 0) {
            expect((perService.get(key) ?? 0) + (newPerService.get(key) ?? 0)).toBeLessThanOrEqual(
              g.maxReplicasPerNode as number,
            );
          }
        }
        for (const count of port80.values()) expect(count).toBeLessThanOrEqual(1);
      }),
      RUNS,
    );
  });

  it("places every task or explains why, never both", () => {
    fc.assert(
      fc.property(scheduleInputArb, fc.integer(), (i, seed) => {
        const r = schedule(i, { random: seed });
        const placedIds = r.assignments.map((a) => a.taskId);
        const unplacedIds = r.unplaced.flatMap((u) => u.taskIds);
        const all = i.pending.flatMap((g) => g.tasks.map((t) => t.id));
        expect([...placedIds, ...unplacedIds].sort()).toEqual([...all].sort());
        for (const u of r.unplaced) expect(u.message).toMatch(/^no suitable node/);
      }),
      RUNS,
    );
  });

  it("never mutates its input", () => {
    const deepFreeze = <T>(value: T): T => {
      if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value)) deepFreeze(v);
      }
      return value;
    };
    fc.assert(
      fc.property(scheduleInputArb, fc.integer(), (i, seed) => {
        const frozen = deepFreeze(structuredClone(i));
        // Frozen objects throw on writes in strict-mode code (all ES modules are).
        expect(schedule(frozen, { random: seed })).toEqual(schedule(i, { random: seed }));
      }),
      { numRuns: 50 },
    );
  });

  it("gives the same output for the same input and seed", () => {
    fc.assert(
      fc.property(scheduleInputArb, fc.integer(), (i, seed) => {
        expect(schedule(i, { random: seed })).toEqual(schedule(i, { random: seed }));
        expect(schedule(i, { random: seed, strategy: "binpack" })).toEqual(
          schedule(i, { random: seed, strategy: "binpack" }),
        );
      }),
      { numRuns: 100 },
    );
  });

  it("unconstrained spread leaves node counts within 1 of each other", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer(),
        fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 30, maxLength: 30 }),
        (nodeCount, tasks, seed, cpus) => {
          // Unequal node sizes must not matter for spread when nothing is reserved.
          const ns = nodes(nodeCount, (k) => ({
            resources: { nanoCpus: cpus[k] * 1e9, memoryBytes: 2 ** 33 },
          }));
          const r = schedule(input({ nodes: ns, pending: [group("web", tasks)] }), { random: seed });
          expect(r.assignments).toHaveLength(tasks);
          const counts = ns.map((n) => r.assignments.filter((a) => a.nodeId === n.id).length);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        },
      ),
      RUNS,
    );
  });

  it("with a preference, label groups differ by at most 1", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<string | undefined>("a", "b", "c", "d", undefined), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer(),
        (zones, tasks, seed) => {
          const ns = zones.map((z, k) => node(`n${k}`, { labels: z === undefined ? {} : { zone: z } }));
          const r = schedule(
            input({
              nodes: ns,
              pending: [group("web", tasks, { preferences: [{ spreadDescriptor: "node.labels.zone" }] })],
            }),
            { random: seed },
          );
          const zoneOf = new Map(ns.map((n) => [n.id, n.labels.zone ?? "(none)"]));
          const perZone = new Map<string, number>();
          for (const z of zoneOf.values()) perZone.set(z, 0);
          for (const a of r.assignments) {
            const z = zoneOf.get(a.nodeId) as string;
            perZone.set(z, (perZone.get(z) ?? 0) + 1);
          }
          const counts = [...perZone.values()];
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        },
      ),
      RUNS,
    );
  });
});
