/**
 * The scheduler's own narrow input and output types. The manager maps store objects (generated wire
 * types) onto these at the edge, so the placement core never changes when the wire API does.
 * Resource units: `nanoCpus` (1 CPU = 1e9) and `memoryBytes`, both plain numbers.
 */

export interface SchedulerResources {
  nanoCpus: number;
  memoryBytes: number;
}

export const SchedulerNodeRole = { Manager: "manager", Worker: "worker" } as const;
export type SchedulerNodeRole = (typeof SchedulerNodeRole)[keyof typeof SchedulerNodeRole];

export const SchedulerNodeAvailability = { Active: "active", Pause: "pause", Drain: "drain" } as const;
export type SchedulerNodeAvailability =
  (typeof SchedulerNodeAvailability)[keyof typeof SchedulerNodeAvailability];

export const SchedulerNodeState = {
  Unknown: "unknown",
  Down: "down",
  Ready: "ready",
  Disconnected: "disconnected",
} as const;
export type SchedulerNodeState = (typeof SchedulerNodeState)[keyof typeof SchedulerNodeState];

export interface SchedulerPlatform {
  /** e.g. "linux"; empty matches any. */
  os: string;
  /** e.g. "amd64" (≡ "x86_64") or "arm64" (≡ "aarch64"); empty matches any. */
  architecture: string;
}

export interface SchedulerNode {
  id: string;
  hostname: string;
  role: SchedulerNodeRole;
  /** Labels set by operators (`node update --label-add`); matched by `node.labels.<key>`. */
  labels: Readonly<Record<string, string>>;
  /** Labels reported by the node's daemon; matched by `engine.labels.<key>`. */
  engineLabels: Readonly<Record<string, string>>;
  platform: SchedulerPlatform;
  availability: SchedulerNodeAvailability;
  state: SchedulerNodeState;
  /** Total schedulable capacity of the node. */
  resources: SchedulerResources;
  /** The node's address as the managers see it (an IP, optionally with ":port"); `node.ip` matches it. */
  addr: string;
}

export const SchedulerPortProtocol = { Tcp: "tcp", Udp: "udp", Sctp: "sctp" } as const;
export type SchedulerPortProtocol = (typeof SchedulerPortProtocol)[keyof typeof SchedulerPortProtocol];

/** A port published in host mode: it occupies `publishedPort/protocol` on the node itself. */
export interface HostPort {
  /** 0: the node picks a free port when the task starts, so it never conflicts here. */
  publishedPort: number;
  protocol: SchedulerPortProtocol;
}

/** A task the store already places on a node. */
export interface PlacedTask {
  id: string;
  nodeId: string;
  serviceId: string;
  specVersion: string;
  reservations: SchedulerResources;
  hostPorts: readonly HostPort[];
  /**
   * The task's observed state is at most RUNNING: its container may still exist, so it holds its
   * reservations and host ports (a task told to shut down keeps its memory until it is gone).
   */
  holdsResources: boolean;
  /**
   * Desired and observed state are both at most RUNNING (Swarm's active task): it counts for
   * spread and max replicas per node, and rebalance may move it. A task being replaced does not.
   */
  isActive: boolean;
}

/** One task failure the restart supervisor saw, for down-weighting nodes that keep failing a service. */
export interface TaskFailure {
  serviceId: string;
  specVersion: string;
  nodeId: string;
  atMs: number;
}

/** A pending task; global-service tasks carry the node the global orchestrator chose for them. */
export interface PendingTask {
  id: string;
  /** Set for global-service tasks: the node is only checked, never chosen. */
  nodeId?: string | undefined;
}

/** `spread=node.labels.zone` and friends: one level of the placement-preference tree. */
export interface SpreadPreference {
  spreadDescriptor: string;
}

/** Pending tasks that share one (service, spec version) and therefore one placement spec. */
export interface PendingGroup {
  serviceId: string;
  specVersion: string;
  tasks: readonly PendingTask[];
  reservations: SchedulerResources;
  /** Swarm constraint expressions: `node.labels.zone == eu-1`, `node.role != manager`, … */
  constraints: readonly string[];
  preferences: readonly SpreadPreference[];
  /** 0 or absent means unlimited. */
  maxReplicasPerNode?: number | undefined;
  /** Empty means any platform. */
  platforms: readonly SchedulerPlatform[];
  hostPorts: readonly HostPort[];
}

/** How the resource-aware score orders otherwise equal candidates; chosen per cluster. */
export const PlacementStrategy = { Spread: "spread", Binpack: "binpack" } as const;
export type PlacementStrategy = (typeof PlacementStrategy)[keyof typeof PlacementStrategy];

export interface ScheduleInput {
  nodes: readonly SchedulerNode[];
  placedTasks: readonly PlacedTask[];
  failures: readonly TaskFailure[];
  /** Groups are placed in this order; earlier groups see nothing of later ones. */
  pending: readonly PendingGroup[];
  /** "Now" for the failure window; the scheduler reads no clock. */
  nowMs: number;
}

export interface SchedulerAssignment {
  taskId: string;
  nodeId: string;
  serviceId: string;
}

/** Filters in Swarm's order; the first that rejects a node is the one the explanation counts. */
export const FilterReason = {
  NotReady: "not-ready",
  InsufficientCpuAndMemory: "insufficient-cpu-and-memory",
  InsufficientMemory: "insufficient-memory",
  InsufficientCpu: "insufficient-cpu",
  Constraints: "constraints",
  Platform: "platform",
  HostPort: "host-port",
  MaxReplicas: "max-replicas",
} as const;
export type FilterReason = (typeof FilterReason)[keyof typeof FilterReason];

export interface Rejection {
  reason: FilterReason;
  nodes: number;
}

export interface Unplaced {
  serviceId: string;
  specVersion: string;
  taskIds: string[];
  /** Swarm's sentence: `no suitable node (insufficient memory on 2 nodes; …)`. */
  message: string;
  /** The same facts for machines, most frequent first. */
  rejections: Rejection[];
}

export interface ScheduleResult {
  assignments: SchedulerAssignment[];
  unplaced: Unplaced[];
}
