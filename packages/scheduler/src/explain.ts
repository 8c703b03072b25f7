import { REASON_INDEX, REASONS } from "./filter-table.js";
import type { Rejection } from "./types.js";

function nodes(count: number): string {
  return count === 1 ? "1 node" : `${count} nodes`;
}

/** One clause of the explanation, e.g. `insufficient memory on 2 nodes` (filter-table.ts). */
function describeRejection(r: Rejection, maxReplicasPerNode: number): string {
  const reason = REASONS[REASON_INDEX.get(r.reason) ?? -1];
  return reason === undefined
    ? `${r.reason} on ${nodes(r.nodes)}`
    : reason.explain(nodes(r.nodes), maxReplicasPerNode);
}

/** Per-reason node counts (indexed as REASON_INDEX) → rejections, most frequent first. */
export function rejectionsFromCounts(counts: ArrayLike<number>): Rejection[] {
  const out: Rejection[] = [];
  REASONS.forEach((r, i) => {
    const c = counts[i] ?? 0;
    if (c > 0) out.push({ reason: r.reason, nodes: c });
  });
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
