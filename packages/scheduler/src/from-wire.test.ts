import {
  Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  PortProtocol,
  PublishMode,
  Service,
  Task,
  TaskState,
} from "@shoal/proto";
import { describe, expect, it } from "vitest";
import {
  nodeFromWire,
  pendingGroupsFromWire,
  placedTaskFromWire,
  rebalanceServiceFromWire,
  scheduleInputFromWire,
  taskFailureFromWire,
} from "./from-wire.js";
import { schedule } from "./schedule.js";

const GiB = 1024 ** 3;

const wireNode = Node.create({
  id: "n1",
  role: NodeRole.MANAGER,
  spec: { name: "n1", labels: { zone: "a" }, availability: NodeAvailability.DRAIN },
  description: {
    hostname: "host-1",
    platform: { os: "linux", architecture: "x86_64" },
    resources: { nanoCpus: 4e9, memoryBytes: 8 * GiB, pids: 0, generic: [] },
    engine: { engineVersion: "0.1.0", labels: { ssd: "true" } },
  },
  status: { state: NodeState.READY, message: "", addr: "10.0.0.5" },
});

function task(id: string, parts: Parameters<typeof Task.create>[0] = {}): Task {
  return Task.create({
    id,
    serviceId: "web",
    specVersion: 7,
    nodeId: "n1",
    desiredState: TaskState.RUNNING,
    status: { state: TaskState.RUNNING, timestampMs: 1_000 },
    spec: {
      resources: { reservations: { nanoCpus: 5e8, memoryBytes: GiB, pids: 0, generic: [] } },
      placement: {
        constraints: ["node.role == manager"],
        preferences: [{ preference: { $case: "spread", value: { spreadDescriptor: "node.labels.zone" } } }],
        maxReplicasPerNode: 2,
        platforms: [{ os: "linux", architecture: "amd64" }],
      },
    },
    ...parts,
  });
}

describe("from wire", () => {
  it("maps a node: observed role, spec labels and availability, description, status", () => {
    expect(nodeFromWire(wireNode)).toEqual({
      id: "n1",
      hostname: "host-1",
      role: "manager",
      labels: { zone: "a" },
      engineLabels: { ssd: "true" },
      platform: { os: "linux", architecture: "x86_64" },
      availability: "drain",
      state: "ready",
      resources: { nanoCpus: 4e9, memoryBytes: 8 * GiB },
      addr: "10.0.0.5",
    });
  });

  it("maps a node that has reported nothing yet to an unknown, empty, active worker", () => {
    expect(nodeFromWire(Node.create({ id: "n2" }))).toEqual({
      id: "n2",
      hostname: "",
      role: "worker",
      labels: {},
      engineLabels: {},
      platform: { os: "", architecture: "" },
      availability: "active",
      state: "unknown",
      resources: { nanoCpus: 0, memoryBytes: 0 },
      addr: "",
    });
  });

  it.each([
    ["running, meant to run", TaskState.RUNNING, TaskState.RUNNING, true, true],
    ["starting", TaskState.RUNNING, TaskState.STARTING, true, true],
    ["told to shut down, still running", TaskState.SHUTDOWN, TaskState.RUNNING, true, false],
    ["finished", TaskState.SHUTDOWN, TaskState.COMPLETE, false, false],
    ["failed", TaskState.RUNNING, TaskState.FAILED, false, false],
    ["to be removed, shut down", TaskState.REMOVE, TaskState.SHUTDOWN, false, false],
  ])("task %s: holds resources %s / %s", (_what, desired, observed, holds, active) => {
    const t = placedTaskFromWire(task("t", { desiredState: desired, status: { state: observed } }));
    expect(t).toMatchObject({ holdsResources: holds, isActive: active });
  });

  it("maps a placed task with its host-mode ports, preferring the ports the node reported", () => {
    const ports = [
      {
        name: "",
        protocol: PortProtocol.UNSPECIFIED,
        targetPort: 80,
        publishedPort: 0,
        publishMode: PublishMode.HOST,
      },
      {
        name: "",
        protocol: PortProtocol.UDP,
        targetPort: 53,
        publishedPort: 53,
        publishMode: PublishMode.INGRESS,
      },
    ];
    const t = task("t", {
      endpoint: { ports, virtualIps: [] },
      status: {
        state: TaskState.RUNNING,
        portStatus: { ports: [{ ...ports[0], publishedPort: 30001 } as (typeof ports)[0]] },
      },
    });
    expect(placedTaskFromWire(t)).toEqual({
      id: "t",
      nodeId: "n1",
      serviceId: "web",
      specVersion: "7",
      reservations: { nanoCpus: 5e8, memoryBytes: GiB },
      hostPorts: [{ publishedPort: 30001, protocol: "tcp" }],
      holdsResources: true,
      isActive: true,
    });
    expect(placedTaskFromWire(task("u", { nodeId: "" }))).toBeUndefined();
  });

  it("groups pending tasks by service and spec version, keeping a global task's node", () => {
    const groups = pendingGroupsFromWire([
      task("a", { nodeId: "" }),
      task("b", { nodeId: "", specVersion: 8 }),
      task("c", { nodeId: "" }),
      task("d", { nodeId: "n1" }),
    ]);
    expect(groups.map((g) => [g.specVersion, g.tasks])).toEqual([
      ["7", [{ id: "a" }, { id: "c" }, { id: "d", nodeId: "n1" }]],
      ["8", [{ id: "b" }]],
    ]);
    expect(groups[0]).toMatchObject({
      serviceId: "web",
      reservations: { nanoCpus: 5e8, memoryBytes: GiB },
      constraints: ["node.role == manager"],
      preferences: [{ spreadDescriptor: "node.labels.zone" }],
      maxReplicasPerNode: 2,
      platforms: [{ os: "linux", architecture: "amd64" }],
      hostPorts: [],
    });
  });

  it("records failures with their time and ignores other states", () => {
    expect(taskFailureFromWire(task("f", { status: { state: TaskState.FAILED, timestampMs: 42 } }))).toEqual({
      serviceId: "web",
      specVersion: "7",
      nodeId: "n1",
      atMs: 42,
    });
    expect(taskFailureFromWire(task("r"))).toBeUndefined();
  });

  it("builds a schedule input the scheduler places on, from nodes and tasks as the store holds them", () => {
    const ready = Node.create({
      ...wireNode,
      spec: { ...wireNode.spec, name: "n1", labels: {}, availability: NodeAvailability.ACTIVE },
    });
    const input = scheduleInputFromWire({
      nodes: [ready],
      tasks: [
        task("running"),
        task("pending", { nodeId: "", status: { state: TaskState.PENDING } }),
        task("new", { nodeId: "", status: { state: TaskState.NEW } }),
        task("failed", { status: { state: TaskState.FAILED, timestampMs: 900 } }),
      ],
      nowMs: 1_000,
    });
    expect(input.placedTasks.map((t) => t.id)).toEqual(["running", "failed"]);
    expect(input.pending.flatMap((g) => g.tasks.map((t) => t.id))).toEqual(["pending"]);
    expect(input.failures).toHaveLength(1);
    expect(schedule(input, { random: 1 }).assignments).toEqual([
      { taskId: "pending", nodeId: "n1", serviceId: "web" },
    ]);
  });

  it("gives the same input with a memo of task facts, translating each task object once", () => {
    const ready = Node.create({
      ...wireNode,
      spec: { ...wireNode.spec, availability: NodeAvailability.ACTIVE },
    });
    const tasks = [
      task("running"),
      task("pending", { nodeId: "", status: { state: TaskState.PENDING } }),
      task("failed", { status: { state: TaskState.FAILED, timestampMs: 900 } }),
    ];
    const plain = scheduleInputFromWire({ nodes: [ready], tasks, nowMs: 1_000 });
    const memo = new WeakMap();
    const first = scheduleInputFromWire({ nodes: [ready], tasks, nowMs: 1_000, memo });
    const again = scheduleInputFromWire({ nodes: [ready], tasks, nowMs: 1_000, memo });
    expect(first).toEqual(plain);
    expect(again).toEqual(plain);
    expect(again.placedTasks[0]).toBe(first.placedTasks[0]);
    expect(memo.has(tasks[1]!)).toBe(false); // pending tasks are grouped anew each call
  });

  it("maps a service's current placement for the rebalance planner", () => {
    const service = Service.create({
      id: "s1",
      spec: { name: "web", taskTemplate: task("t").spec },
    });
    expect(rebalanceServiceFromWire(service)).toEqual({
      serviceId: "s1",
      constraints: ["node.role == manager"],
      preferences: [{ spreadDescriptor: "node.labels.zone" }],
      maxReplicasPerNode: 2,
      platforms: [{ os: "linux", architecture: "amd64" }],
    });
  });
});
