// Builders for scheduler inputs in tests and benchmarks: every field has a plain default so a
// case states only what it is about.
import type { PendingGroup, PlacedTask, ScheduleInput, SchedulerNode } from "../src/index.js";

export const GiB = 1024 ** 3;
export const CPU = 1e9;

export function node(id: string, overrides: Partial<SchedulerNode> = {}): SchedulerNode {
  return {
    id,
    hostname: `host-${id}`,
    role: "worker",
    labels: {},
    engineLabels: {},
    platform: { os: "linux", architecture: "amd64" },
    availability: "active",
    state: "ready",
    resources: { nanoCpus: 4 * CPU, memoryBytes: 8 * GiB },
    addr: "10.0.0.1",
    ...overrides,
  };
}

export function nodes(
  count: number,
  overrides: (i: number) => Partial<SchedulerNode> = () => ({}),
): SchedulerNode[] {
  return Array.from({ length: count }, (_, i) => node(`n${i}`, overrides(i)));
}

export function group(
  serviceId: string,
  taskCount: number,
  overrides: Partial<PendingGroup> = {},
): PendingGroup {
  return {
    serviceId,
    specVersion: "1",
    tasks: Array.from({ length: taskCount }, (_, i) => ({ id: `${serviceId}.${i}` })),
    reservations: { nanoCpus: 0, memoryBytes: 0 },
    constraints: [],
    preferences: [],
    platforms: [],
    hostPorts: [],
    ...overrides,
  };
}

export function placed(
  id: string,
  nodeId: string,
  serviceId: string,
  overrides: Partial<PlacedTask> = {},
): PlacedTask {
  return {
    id,
    nodeId,
    serviceId,
    specVersion: "1",
    reservations: { nanoCpus: 0, memoryBytes: 0 },
    hostPorts: [],
    holdsResources: true,
    isActive: true,
    ...overrides,
  };
}

export function input(parts: Partial<ScheduleInput>): ScheduleInput {
  return { nodes: [], placedTasks: [], failures: [], pending: [], nowMs: 1_000_000_000, ...parts };
}

/** Tasks per node id in an assignment list. */
export function countByNode(assignments: readonly { nodeId: string }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of assignments) m.set(a.nodeId, (m.get(a.nodeId) ?? 0) + 1);
  return m;
}
