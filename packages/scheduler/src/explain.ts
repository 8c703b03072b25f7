import { FilterReason, type Rejection } from "./types.js";

/** Swarm's filter order; ties in the explanation keep it. */
const ORDER: readonly FilterReason[] = [
  FilterReason.NotReady,
  FilterReason.InsufficientCpuAndMemory,
  FilterReason.InsufficientMemory,
  FilterReason.InsufficientCpu,
  FilterReason.Constraints,
  FilterReason.Platform,
  FilterReason.HostPort,
  FilterReason.MaxReplicas,
];

/** Position of each reason in ORDER: per-reason counts are kept in arrays indexed by it. */
export const REASON_INDEX: ReadonlyMap<FilterReason, number> = new Map(ORDER.map((r, i) => [r, i]));

function nodes(count: number): string {
  return count === 1 ? "1 node" : `${count} nodes`;
}

/** One clause of the explanation, e.g. `insufficient memory on 2 nodes`. */
function describeRejection(r: Rejection, maxReplicasPerNode: number): string {
  switch (r.reason) {
    case FilterReason.NotReady:
      return `${nodes(r.nodes)} not available for new tasks`;
    case FilterReason.InsufficientCpuAndMemory:
      return `insufficient CPU and memory on ${nodes(r.nodes)}`;
    case FilterReason.InsufficientMemory:
      return `insufficient memory on ${nodes(r.nodes)}`;
    case FilterReason.InsufficientCpu:
      return `insufficient CPU on ${nodes(r.nodes)}`;
    case FilterReason.Constraints:
      return `scheduling constraints not satisfied on ${nodes(r.nodes)}`;
    case FilterReason.Platform:
      return `unsupported platform on ${nodes(r.nodes)}`;
    case FilterReason.HostPort:
      return `host-mode port already in use on ${nodes(r.nodes)}`;
    case FilterReason.MaxReplicas:
      return `max replicas per node limit (${maxReplicasPerNode}) reached on ${nodes(r.nodes)}`;
  }
}

/** Per-reason node counts (indexed as REASON_INDEX) → rejections, most frequent first. */
export function rejectionsFromCounts(counts: ArrayLike<number>): Rejection[] {
  const out: Rejection[] = [];
  for (let i = 0; i < ORDER.length; i++) {
    const c = counts[i] as number;
    if (c > 0) out.push({ reason: ORDER[i] as FilterReason, nodes: c });
  }
  // Stable sort: equal counts stay in filter order.
  return out.sort((a, b) => b.nodes - a.nodes);
}

/** `no suitable node (insufficient memory on 2 nodes; scheduling constraints not satisfied on 1 node)` */
export function explain(
  rejections: readonly Rejection[],
  nodeCount: number,
  maxReplicasPerNode: number,
): string {
  if (nodeCount === 0) return "no suitable node (no nodes in the cluster)";
  if (rejections.length === 0) return "no suitable node";
  return `no suitable node (${rejections.map((r) => describeRejection(r, maxReplicasPerNode)).join("; ")})`;
}
