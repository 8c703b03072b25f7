import type { ClusterState } from "./cluster-state.js";
import { FilterReason } from "./types.js";

/**
 * What one task asks of a node, as the filters read it. A group of pending tasks has one demand
 * (GroupFilters); the rebalance planner sets one per task it moves, since each placed task carries
 * its own reservations and ports.
 */
export interface Demand {
  cpu: number;
  memory: number;
  /** portKey()s of the fixed host-mode ports (published port 0 never conflicts). */
  portKeys: readonly number[];
  /** 0: unlimited. */
  maxPerNode: number;
  /** Active tasks of the demand's service per node index. */
  readonly serviceCount: Int32Array;
  /** 1 where the node satisfies the constraints (computed once per constraint set). */
  readonly constraintOk: Uint8Array;
  /** 1 where the node's platform is allowed (computed once per platform list). */
  readonly platformOk: Uint8Array;
}

/** One reason a filter gives, with its clause in the explanation. */
export interface ReasonDescriptor {
  reason: FilterReason;
  /** `nodes` is "1 node" / "3 nodes". */
  explain(nodes: string, maxReplicasPerNode: number): string;
}

/**
 * One filter, in Swarm's order. Static filters cannot change while a group is placed (they are
 * evaluated once per node per call); dynamic ones only get stricter as tasks land.
 */
export interface FilterDescriptor {
  name: string;
  kind: "static" | "dynamic";
  /** The reasons this filter gives, in explanation order. */
  reasons: readonly ReasonDescriptor[];
  /** The reason the filter rejects node n for, or undefined when the node passes. */
  reject(state: ClusterState, demand: Demand, n: number): FilterReason | undefined;
}

/**
 * Every filter the scheduler applies: placement (GroupFilters), explanations (explain.ts) and the
 * rebalance planner read this table, so a new filter is one entry here (plus, when dynamic, its
 * line in GroupFilters.fitsOneMore, which the property test in filters.test.ts holds equal).
 */
export const FILTERS: readonly FilterDescriptor[] = [
  {
    name: "ready",
    kind: "static",
    reasons: [{ reason: FilterReason.NotReady, explain: (nodes) => `${nodes} not available for new tasks` }],
    reject: (s, _d, n) => (s.isAvailable[n] === 1 ? undefined : FilterReason.NotReady),
  },
  {
    name: "resources",
    kind: "dynamic",
    reasons: [
      {
        reason: FilterReason.InsufficientCpuAndMemory,
        explain: (nodes) => `insufficient CPU and memory on ${nodes}`,
      },
      { reason: FilterReason.InsufficientMemory, explain: (nodes) => `insufficient memory on ${nodes}` },
      { reason: FilterReason.InsufficientCpu, explain: (nodes) => `insufficient CPU on ${nodes}` },
    ],
    reject: (s, d, n) => {
      const cpuShort = s.usedCpu[n] + d.cpu > s.totalCpu[n];
      const memoryShort = s.usedMemory[n] + d.memory > s.totalMemory[n];
      if (cpuShort && memoryShort) return FilterReason.InsufficientCpuAndMemory;
      if (memoryShort) return FilterReason.InsufficientMemory;
      return cpuShort ? FilterReason.InsufficientCpu : undefined;
    },
  },
  {
    name: "constraints",
    kind: "static",
    reasons: [
      {
        reason: FilterReason.Constraints,
        explain: (nodes) => `scheduling constraints not satisfied on ${nodes}`,
      },
    ],
    reject: (_s, d, n) => (d.constraintOk[n] === 1 ? undefined : FilterReason.Constraints),
  },
  {
    name: "platform",
    kind: "static",
    reasons: [{ reason: FilterReason.Platform, explain: (nodes) => `unsupported platform on ${nodes}` }],
    reject: (_s, d, n) => (d.platformOk[n] === 1 ? undefined : FilterReason.Platform),
  },
  {
    name: "host ports",
    kind: "dynamic",
    reasons: [
      { reason: FilterReason.HostPort, explain: (nodes) => `host-mode port already in use on ${nodes}` },
    ],
    reject: (s, d, n) => (s.portsConflict(n, d.portKeys) ? FilterReason.HostPort : undefined),
  },
  {
    name: "max replicas",
    kind: "dynamic",
    reasons: [
      {
        reason: FilterReason.MaxReplicas,
        explain: (nodes, max) => `max replicas per node limit (${max}) reached on ${nodes}`,
      },
    ],
    reject: (_s, d, n) =>
      d.maxPerNode > 0 && d.serviceCount[n] >= d.maxPerNode ? FilterReason.MaxReplicas : undefined,
  },
];

const STATIC_FILTERS = FILTERS.filter((f) => f.kind === "static");
const DYNAMIC_FILTERS = FILTERS.filter((f) => f.kind === "dynamic");

/** Every reason in filter order; per-reason counts are kept in arrays indexed by position here. */
export const REASONS: readonly ReasonDescriptor[] = FILTERS.flatMap((f) => f.reasons);

/** Position of each reason in REASONS. */
export const REASON_INDEX: ReadonlyMap<FilterReason, number> = new Map(REASONS.map((r, i) => [r.reason, i]));

/** The first filter, in Swarm's order, that rejects the node; undefined when the node fits. */
export function firstRejection(state: ClusterState, demand: Demand, n: number): FilterReason | undefined {
  for (const f of FILTERS) {
    const reason = f.reject(state, demand, n);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/** Whether the node passes every static filter (ready, constraints, platform). */
export function passesStaticFilters(state: ClusterState, demand: Demand, n: number): boolean {
  for (const f of STATIC_FILTERS) if (f.reject(state, demand, n) !== undefined) return false;
  return true;
}

/** Whether one more task of the demand fits on the node (resources, host ports, max replicas). */
export function passesDynamicFilters(state: ClusterState, demand: Demand, n: number): boolean {
  for (const f of DYNAMIC_FILTERS) if (f.reject(state, demand, n) !== undefined) return false;
  return true;
}
