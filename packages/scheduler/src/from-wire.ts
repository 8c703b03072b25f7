// The one place that turns store objects (generated wire types from @shoal/proto) into the
// scheduler's narrow input. Everything else in this package sees only ./types.ts, so the placement
// core does not change when the wire API does, and the manager needs no mapping of its own.
import {
  isTaskTerminal,
  type Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  type PortConfig,
  PortProtocol,
  PublishMode,
  type Service,
  type Task,
  TaskState,
} from "@shoal/proto";
import type { RebalanceService } from "./rebalance.js";
import type {
  HostPort,
  PendingGroup,
  PlacedTask,
  ScheduleInput,
  SchedulerNode,
  SchedulerNodeAvailability,
  SchedulerNodeState,
  SchedulerPortProtocol,
  SchedulerResources,
  SpreadPreference,
  TaskFailure,
} from "./types.js";

const NO_RESOURCES: SchedulerResources = { nanoCpus: 0, memoryBytes: 0 };

function resources(r: { nanoCpus: number; memoryBytes: number } | undefined): SchedulerResources {
  return r === undefined ? NO_RESOURCES : { nanoCpus: r.nanoCpus, memoryBytes: r.memoryBytes };
}

function availability(a: NodeAvailability | undefined): SchedulerNodeAvailability {
  if (a === NodeAvailability.PAUSE) return "pause";
  if (a === NodeAvailability.DRAIN) return "drain";
  return "active"; // the wire default (0)
}

function nodeState(s: NodeState | undefined): SchedulerNodeState {
  switch (s) {
    case NodeState.READY:
      return "ready";
    case NodeState.DOWN:
      return "down";
    case NodeState.DISCONNECTED:
      return "disconnected";
    default:
      return "unknown";
  }
}

function protocol(p: PortProtocol): SchedulerPortProtocol {
  if (p === PortProtocol.UDP) return "udp";
  if (p === PortProtocol.SCTP) return "sctp";
  return "tcp"; // UNSPECIFIED means TCP (the spec default)
}

function hostPorts(ports: readonly PortConfig[]): HostPort[] {
  const out: HostPort[] = [];
  for (const p of ports) {
    if (p.publishMode === PublishMode.HOST)
      out.push({ publishedPort: p.publishedPort, protocol: protocol(p.protocol) });
  }
  return out;
}

/**
 * The host-mode ports a task occupies: those the node actually published (port 0 resolved) once it
 * reports them, else the allocator's, else the spec's.
 */
function taskHostPorts(task: Task): HostPort[] {
  const reported = task.status?.portStatus?.ports ?? [];
  if (reported.length > 0) return hostPorts(reported);
  const allocated = task.endpoint?.ports ?? [];
  if (allocated.length > 0) return hostPorts(allocated);
  return hostPorts(task.endpoint?.spec?.ports ?? []);
}

function observedState(task: Task): TaskState {
  return task.status?.state ?? TaskState.NEW;
}

/** A store Node as the scheduler sees it. The observed role (`node.role`) is what constraints match. */
export function nodeFromWire(node: Node): SchedulerNode {
  const platform = node.description?.platform;
  return {
    id: node.id,
    hostname: node.description?.hostname ?? "",
    role: node.role === NodeRole.MANAGER ? "manager" : "worker",
    labels: node.spec?.labels ?? {},
    engineLabels: node.description?.engine?.labels ?? {},
    platform: { os: platform?.os ?? "", architecture: platform?.architecture ?? "" },
    availability: availability(node.spec?.availability),
    state: nodeState(node.status?.state),
    resources: resources(node.description?.resources),
    addr: node.status?.addr ?? "",
  };
}

/**
 * A task on a node, or undefined when it has none yet. The task-state order is proto's
 * (`isTaskTerminal`: past RUNNING); this is the only place it is turned into the scheduler's facts.
 */
export function placedTaskFromWire(task: Task): PlacedTask | undefined {
  if (task.nodeId === "") return undefined;
  const holdsResources = !isTaskTerminal(observedState(task));
  return {
    id: task.id,
    nodeId: task.nodeId,
    serviceId: task.serviceId,
    specVersion: String(task.specVersion),
    reservations: resources(task.spec?.resources?.reservations),
    hostPorts: taskHostPorts(task),
    holdsResources,
    isActive: holdsResources && !isTaskTerminal(task.desiredState),
  };
}

/** A failed task, for down-weighting nodes that keep failing a service version; else undefined. */
export function taskFailureFromWire(task: Task): TaskFailure | undefined {
  const status = task.status;
  if (status === undefined || status.state !== TaskState.FAILED || task.nodeId === "") return undefined;
  return {
    serviceId: task.serviceId,
    specVersion: String(task.specVersion),
    nodeId: task.nodeId,
    atMs: status.timestampMs,
  };
}

function spreadPreferences(task: Task["spec"]): SpreadPreference[] {
  const out: SpreadPreference[] = [];
  for (const p of task?.placement?.preferences ?? []) {
    if (p.preference?.$case === "spread") out.push({ spreadDescriptor: p.preference.value.spreadDescriptor });
  }
  return out;
}

/**
 * Pending tasks grouped by (service, spec version), in order of first appearance. Tasks of one
 * version carry the same copy of the task template, so the group's placement is the first task's.
 * A task with a node id (a global service's) keeps it: the scheduler only checks that node.
 */
export function pendingGroupsFromWire(tasks: readonly Task[]): PendingGroup[] {
  const groups = new Map<string, { group: PendingGroup; tasks: { id: string; nodeId?: string }[] }>();
  for (const task of tasks) {
    const key = `${task.serviceId}\u0000${task.specVersion}`;
    let entry = groups.get(key);
    if (entry === undefined) {
      const placement = task.spec?.placement;
      const list: { id: string; nodeId?: string }[] = [];
      const group: PendingGroup = {
        serviceId: task.serviceId,
        specVersion: String(task.specVersion),
        tasks: list,
        reservations: resources(task.spec?.resources?.reservations),
        constraints: placement?.constraints ?? [],
        preferences: spreadPreferences(task.spec),
        maxReplicasPerNode: placement?.maxReplicasPerNode ?? 0,
        platforms: (placement?.platforms ?? []).map((p) => ({ os: p.os, architecture: p.architecture })),
        hostPorts: taskHostPorts(task),
      };
      entry = { group, tasks: list };
      groups.set(key, entry);
    }
    entry.tasks.push(task.nodeId === "" ? { id: task.id } : { id: task.id, nodeId: task.nodeId });
  }
  return [...groups.values()].map((e) => e.group);
}

/** Whether the scheduler should place the task now: PENDING (allocated) and still meant to run. */
export function isSchedulable(task: Task): boolean {
  return observedState(task) === TaskState.PENDING && !isTaskTerminal(task.desiredState);
}

/** What a task that is not pending gives the scheduler: its placement and its failure, if any. */
export interface TaskFacts {
  placed: PlacedTask | undefined;
  failure: TaskFailure | undefined;
}

/**
 * A memo of each task object's facts, for callers whose task objects never change in place (the
 * store's: a new version is a new object). A pass over 100,000 tasks then translates only those
 * that changed since the last one.
 */
export type TaskFactsMemo = WeakMap<Task, TaskFacts>;

function taskFactsFromWire(task: Task): TaskFacts {
  return {
    placed: observedState(task) >= TaskState.ASSIGNED ? placedTaskFromWire(task) : undefined,
    failure: taskFailureFromWire(task),
  };
}

/**
 * The whole input of one `schedule()` call from the store's nodes and tasks: tasks the scheduler
 * should place (see isSchedulable) are pending, tasks ASSIGNED or later with a node are placed,
 * failed ones feed the failure window. NEW tasks are neither (the allocator has not seen them).
 */
export function scheduleInputFromWire(args: {
  nodes: readonly Node[];
  tasks: Iterable<Task>;
  nowMs: number;
  memo?: TaskFactsMemo | undefined;
}): ScheduleInput {
  const placedTasks: PlacedTask[] = [];
  const failures: TaskFailure[] = [];
  const pending: Task[] = [];
  const memo = args.memo;
  for (const task of args.tasks) {
    if (isSchedulable(task)) {
      pending.push(task);
      continue;
    }
    let facts = memo?.get(task);
    if (facts === undefined) {
      facts = taskFactsFromWire(task);
      memo?.set(task, facts);
    }
    if (facts.placed !== undefined) placedTasks.push(facts.placed);
    if (facts.failure !== undefined) failures.push(facts.failure);
  }
  return {
    nodes: args.nodes.map(nodeFromWire),
    placedTasks,
    failures,
    pending: pendingGroupsFromWire(pending),
    nowMs: args.nowMs,
  };
}

/** A service's placement for the rebalance planner (its current spec's task template). */
export function rebalanceServiceFromWire(service: Service): RebalanceService {
  const template = service.spec?.taskTemplate;
  const placement = template?.placement;
  return {
    serviceId: service.id,
    constraints: placement?.constraints ?? [],
    preferences: spreadPreferences(template),
    maxReplicasPerNode: placement?.maxReplicasPerNode ?? 0,
    platforms: (placement?.platforms ?? []).map((p) => ({ os: p.os, architecture: p.architecture })),
  };
}
