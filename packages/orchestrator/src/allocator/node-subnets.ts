import { formatIpv4, type Ipv4Subnet, parseIpv4Subnet, ShoalError } from "@shoal/base";
import { ClusterDefaults } from "@shoal/proto";
import { OrchErrorCode } from "../errors.js";
import { type Plan, PlanBuilder } from "../plan.js";
import type { ClusterView } from "../view.js";

export interface NodeSubnetPool {
  pool: Ipv4Subnet;
  prefixLength: number;
}

/** The cluster's node subnet pool (default 10.42.0.0/16 in /24s). Throws ORCH_INVALID_SUBNET_POOL. */
export function nodeSubnetPoolOf(view: ClusterView): NodeSubnetPool {
  const allocator = view.cluster?.spec?.allocator;
  const text = allocator?.nodeSubnetPool || ClusterDefaults.nodeSubnetPool;
  const prefixLength = allocator?.subnetSize || ClusterDefaults.subnetSize;
  let pool: Ipv4Subnet;
  try {
    pool = parseIpv4Subnet(text);
  } catch (cause) {
    throw new ShoalError(OrchErrorCode.InvalidSubnetPool, `node subnet pool "${text}" is not an IPv4 CIDR`, {
      cause,
    });
  }
  if (prefixLength < pool.prefixLength || prefixLength > 30) {
    throw new ShoalError(
      OrchErrorCode.InvalidSubnetPool,
      `node subnet size /${prefixLength} does not fit in the pool "${pool.cidr}" (allowed /${pool.prefixLength} to /30)`,
    );
  }
  return { pool, prefixLength };
}

/**
 * Gives every node without a container subnet the lowest free one of the pool, so container
 * addresses never collide across nodes. A removed node's subnet is free again (the store is the
 * only record: a new leader sees the same subnets in use).
 */
export function allocateNodeSubnets(view: ClusterView): Plan {
  const out = new PlanBuilder();
  const needing = [...view.nodes.values()].filter((n) => n.containerSubnet === "");
  if (needing.length === 0) return out.plan;
  const { pool, prefixLength } = nodeSubnetPoolOf(view);
  const size = 2 ** (32 - prefixLength);
  const used = new Set<number>();
  for (const n of view.nodes.values()) {
    if (n.containerSubnet === "") continue;
    const s = parseIpv4Subnet(n.containerSubnet);
    used.add(s.network);
  }
  let next = pool.network;
  for (const node of needing.sort((a, b) => (a.id < b.id ? -1 : 1))) {
    while (used.has(next) && next < pool.network + pool.size) next += size;
    if (next >= pool.network + pool.size) {
      out.note(
        `node ${node.id}: node subnet pool "${pool.cidr}" is exhausted (${pool.size / size} subnets of /${prefixLength})`,
      );
      continue;
    }
    used.add(next);
    const cidr = `${formatIpv4(next)}/${prefixLength}`;
    out.updateNode({ ...node, containerSubnet: cidr }, `container subnet ${cidr}`);
  }
  return out.plan;
}
