// fast-check arbitraries for scheduler inputs: small clusters with labels, platforms, resources,
// running tasks and pending groups drawn from pools that make filters bite.
import fc from "fast-check";
import type { HostPort, PendingGroup, PlacedTask, ScheduleInput, SchedulerNode } from "../src/index.js";
import { CPU, GiB } from "./fixtures.js";

const zone = fc.constantFrom<string | undefined>("a", "b", "c", undefined);

export const nodeArb = (i: number): fc.Arbitrary<SchedulerNode> =>
  fc
    .record({
      zone,
      rack: fc.constantFrom<string | undefined>("1", "2", undefined),
      role: fc.constantFrom("manager" as const, "worker" as const),
      arch: fc.constantFrom("amd64", "x86_64", "arm64", "aarch64"),
      state: fc.constantFrom("ready" as const, "ready" as const, "ready" as const, "down" as const),
      availability: fc.constantFrom(
        "active" as const,
        "active" as const,
        "active" as const,
        "drain" as const,
      ),
      cpus: fc.integer({ min: 1, max: 8 }),
      memoryGiB: fc.integer({ min: 1, max: 16 }),
    })
    .map((r) => {
      const labels: Record<string, string> = {};
      if (r.zone !== undefined) labels.zone = r.zone;
      if (r.rack !== undefined) labels.rack = r.rack;
      return {
        id: `n${i}`,
        hostname: `host-${i}`,
        role: r.role,
        labels,
        engineLabels: {},
        platform: { os: "linux", architecture: r.arch },
        availability: r.availability,
        state: r.state,
        resources: { nanoCpus: r.cpus * CPU, memoryBytes: r.memoryGiB * GiB },
        addr: `10.0.${i >> 8}.${i & 255}`,
      };
    });

export const nodesArb = (min = 1, max = 12): fc.Arbitrary<SchedulerNode[]> =>
  fc.integer({ min, max }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i))));

const portPool: HostPort[] = [
  { publishedPort: 80, protocol: "tcp" },
  { publishedPort: 53, protocol: "udp" },
];

export const CONSTRAINT_POOL = [
  "node.role == worker",
  "node.role != worker",
  "node.labels.zone == a",
  "node.labels.zone != b",
  // Holds on nodes without the label: a missing label equals "".
  "node.labels.rack != 1",
  "node.platform.arch == amd64",
  "node.ip == 10.0.0.0/29",
];

export const groupArb = (serviceId: string, specVersion: string): fc.Arbitrary<PendingGroup> =>
  fc
    .record({
      tasks: fc.integer({ min: 0, max: 20 }),
      cpuTenths: fc.integer({ min: 0, max: 20 }),
      memoryMiB: fc.constantFrom(0, 256, 512, 1024, 3072),
      constraints: fc.subarray(CONSTRAINT_POOL, { maxLength: 2 }),
      platforms: fc.constantFrom(
        [],
        [{ os: "linux", architecture: "amd64" }],
        [{ os: "linux", architecture: "aarch64" }],
      ),
      hostPorts: fc.constantFrom([], [], [portPool[0]]),
      maxReplicasPerNode: fc.constantFrom(0, 0, 1, 2, 3),
      preferences: fc.constantFrom(
        [],
        [{ spreadDescriptor: "node.labels.zone" }],
        [{ spreadDescriptor: "node.labels.zone" }, { spreadDescriptor: "node.labels.rack" }],
      ),
    })
    .map((r) => ({
      serviceId,
      specVersion,
      tasks: Array.from({ length: r.tasks }, (_, i) => ({ id: `${serviceId}@${specVersion}.${i}` })),
      reservations: { nanoCpus: r.cpuTenths * 1e8, memoryBytes: r.memoryMiB * 1024 ** 2 },
      constraints: r.constraints,
      platforms: r.platforms,
      hostPorts: r.hostPorts,
      maxReplicasPerNode: r.maxReplicasPerNode,
      preferences: r.preferences,
    }));

/**
 * Observed states that still hold a node's resources and ports: written out here rather than taken
 * from src/task-state.ts, so the properties check the scheduler against the rule, not against itself.
 */
const HOLDING_STATES: ReadonlySet<string> = new Set([
  "new",
  "pending",
  "assigned",
  "accepted",
  "preparing",
  "ready",
  "starting",
  "running",
]);

// (desired, observed) pairs as the store holds them: mostly running, some on their way down (still
// holding the node) and some finished (holding nothing, so their room must be usable again).
const TASK_STATE_PAIRS = [
  ["running", "running"],
  ["running", "running"],
  ["running", "starting"],
  ["shutdown", "running"],
  ["shutdown", "complete"],
  ["shutdown", "failed"],
  ["remove", "shutdown"],
] as const;

/**
 * Placed tasks in a mix of states; those holding resources fit their nodes (the store never holds
 * over-committed nodes in these tests), finished ones may not: their room is free again.
 */
export function placedArb(nodes: readonly SchedulerNode[]): fc.Arbitrary<PlacedTask[]> {
  if (nodes.length === 0) return fc.constant([]);
  return fc
    .array(
      fc.record({
        node: fc.integer({ min: 0, max: nodes.length - 1 }),
        service: fc.constantFrom("s0", "s1", "other"),
        cpuTenths: fc.integer({ min: 0, max: 10 }),
        memoryMiB: fc.constantFrom(0, 256, 1024),
        port: fc.boolean(),
        states: fc.constantFrom(...TASK_STATE_PAIRS),
      }),
      { maxLength: 15 },
    )
    .map((rows) => {
      const usedCpu = new Map<string, number>();
      const usedMemory = new Map<string, number>();
      const ports = new Set<string>();
      const out: PlacedTask[] = [];
      rows.forEach((r, i) => {
        const n = nodes[r.node];
        const [desiredState, observedState] = r.states;
        const holds = HOLDING_STATES.has(observedState);
        // Finished tasks may have held anything: make them big, so that counting them would show.
        const cpu = (holds ? r.cpuTenths : r.cpuTenths + 40) * 1e8;
        const memory = (holds ? r.memoryMiB : r.memoryMiB + 8192) * 1024 ** 2;
        const withPort = r.port && (!holds || !ports.has(n.id));
        if (holds) {
          const c = (usedCpu.get(n.id) ?? 0) + cpu;
          const m = (usedMemory.get(n.id) ?? 0) + memory;
          if (c > n.resources.nanoCpus || m > n.resources.memoryBytes) return;
          if (withPort) ports.add(n.id);
          usedCpu.set(n.id, c);
          usedMemory.set(n.id, m);
        }
        out.push({
          id: `p${i}`,
          nodeId: n.id,
          serviceId: r.service,
          specVersion: "0",
          reservations: { nanoCpus: cpu, memoryBytes: memory },
          hostPorts: withPort ? [portPool[0]] : [],
          // The rule the manager's from-wire mapping applies, written out here independently.
          holdsResources: holds,
          isActive: holds && desiredState === "running",
        });
      });
      return out;
    });
}

export const scheduleInputArb: fc.Arbitrary<ScheduleInput> = nodesArb().chain((nodes) =>
  fc
    .tuple(placedArb(nodes), groupArb("s0", "1"), groupArb("s1", "1"), groupArb("s0", "2"))
    .map(([placedTasks, ...pending]) => ({ nodes, placedTasks, failures: [], pending, nowMs: 0 })),
);
