// The benchmark cluster: nodes in zones and tiers, services with CPU and memory reservations, two
// constraints and one placement preference each (the shape).
import type { PendingGroup, ScheduleInput, SchedulerNode } from "../src/index.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export function benchInput(nodeCount: number, serviceCount: number, tasksPerService: number): ScheduleInput {
  const nodes: SchedulerNode[] = [];
  for (let i = 0; i < nodeCount; i++) {
    nodes.push({
      id: `node-${i.toString(36).padStart(6, "0")}`,
      hostname: `host-${i}`,
      // One node in fifty is a manager; managers are kept free of workloads by a constraint.
      role: i % 50 === 0 ? "manager" : "worker",
      labels: { zone: `zone-${i % 10}`, tier: i % 7 === 0 ? "batch" : "web" },
      engineLabels: {},
      platform: { os: "linux", architecture: "x86_64" },
      availability: "active",
      state: "ready",
      resources: { nanoCpus: 32e9, memoryBytes: 128 * GiB },
      addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    });
  }
  const pending: PendingGroup[] = [];
  for (let s = 0; s < serviceCount; s++) {
    const serviceId = `svc-${s}`;
    const tasks = new Array(tasksPerService);
    for (let t = 0; t < tasksPerService; t++) tasks[t] = { id: `${serviceId}.${t}` };
    pending.push({
      serviceId,
      specVersion: "1",
      tasks,
      reservations: { nanoCpus: 1e8 + (s % 4) * 5e7, memoryBytes: (64 + (s % 8) * 32) * MiB },
      constraints: [
        "node.role == worker",
        s % 2 === 0 ? "node.labels.tier != batch" : "node.platform.arch == amd64",
      ],
      preferences: [{ spreadDescriptor: "node.labels.zone" }],
      platforms: [{ os: "linux", architecture: "amd64" }],
      hostPorts: [],
    });
  }
  return { nodes, placedTasks: [], failures: [], pending, nowMs: 1_700_000_000_000 };
}
