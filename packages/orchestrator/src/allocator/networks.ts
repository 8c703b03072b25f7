import {
  formatIpv4,
  type Ipv4Subnet,
  ipv4SubnetsOverlap,
  parseIpv4,
  parseIpv4Subnet,
  ShoalError,
} from "@shoal/base";
import { type Cluster, ClusterDefaults, type Network, type NetworkSpec } from "@shoal/proto";
import { OrchErrorCode } from "../errors.js";
import { nodeSubnetPoolOf } from "./node-subnets.js";

/** The driver every network gets: a VXLAN segment across the nodes with its tasks (Swarm's default). */
export const OVERLAY_DRIVER = "overlay";
/** The VXLAN network identifiers handed out, lowest free first (Swarm starts at 4096 too). */
export const FIRST_VNI = 4096;
export const LAST_VNI = 16_777_215;

/** A network as allocated: its subnet, gateway (offset 1) and VXLAN id. */
export interface NetworkAllocation {
  subnet: Ipv4Subnet;
  gateway: string;
  vni: number;
}

/** What `allocateNetwork` reads off the stored network, undefined when it was never allocated. */
export function allocationOf(network: Network): NetworkAllocation | undefined {
  const config = network.ipam?.configs[0];
  const vni = Number(network.driverState?.options.vni);
  if (config === undefined || config.subnet === "" || !Number.isInteger(vni)) return undefined;
  return { subnet: parseIpv4Subnet(config.subnet), gateway: config.gateway, vni };
}

/**
 * The pools networks are carved from: the cluster's default address pools (10.0.0.0/8 unless
 * set), in subnets of `subnet_size` (/24); anything overlapping the node subnet pool is skipped,
 * so overlay and bridge addresses never meet in one container.
 */
function poolsOf(cluster: Cluster | undefined): {
  pools: Ipv4Subnet[];
  prefixLength: number;
  node: Ipv4Subnet;
} {
  const allocator = cluster?.spec?.allocator;
  const texts =
    allocator !== undefined && allocator.defaultAddressPool.length > 0
      ? allocator.defaultAddressPool
      : ClusterDefaults.defaultAddressPool;
  const pools = texts.map((t) => {
    try {
      return parseIpv4Subnet(t);
    } catch (cause) {
      throw new ShoalError(
        OrchErrorCode.InvalidSubnetPool,
        `default address pool "${t}" is not an IPv4 CIDR`,
        {
          cause,
        },
      );
    }
  });
  const prefixLength = allocator?.subnetSize || ClusterDefaults.subnetSize;
  const nodePool = nodeSubnetPoolOf({ nodes: new Map(), services: new Map(), tasks: new Map(), cluster });
  return { pools, prefixLength, node: nodePool.pool };
}

function refuse(code: OrchErrorCode, message: string, hint: string): ShoalError {
  return new ShoalError(code, message, { hint });
}

/**
 * Allocates a new network at create, or refuses it (nothing is written then): a name in use, a
 * subnet given by the spec outside the cluster's pools or overlapping another network's (or the
 * node subnet pool), or a pool with no free subnet left. The subnet is the spec's or the lowest
 * free one of the pools; the gateway is the spec's or the subnet's first address; the VNI is the
 * lowest free from 4096. Everything is kept on the network object, so a new leader sees it.
 */
export function allocateNetwork(
  spec: NetworkSpec,
  existing: readonly Network[],
  cluster: Cluster | undefined,
): NetworkAllocation {
  const taken = existing.find((n) => n.spec?.name === spec.name);
  if (taken !== undefined)
    throw refuse(
      OrchErrorCode.NetworkNameInUse,
      `network name "${spec.name}" is in use by network ${taken.id}`,
      "choose another name, or remove that network first",
    );
  const { pools, prefixLength, node } = poolsOf(cluster);
  const others = existing.flatMap((n) => {
    const a = allocationOf(n);
    return a === undefined ? [] : [{ name: n.spec?.name ?? n.id, subnet: a.subnet, vni: a.vni }];
  });
  const config = spec.ipam?.configs[0];
  let subnet: Ipv4Subnet;
  if (config !== undefined && config.subnet !== "") {
    subnet = parseIpv4Subnet(config.subnet);
    if (!pools.some((p) => p.network <= subnet.network && subnet.network + subnet.size <= p.network + p.size))
      throw refuse(
        OrchErrorCode.NetworkSubnetOutsidePool,
        `network "${spec.name}": subnet ${subnet.cidr} is outside the cluster's address pool ${pools.map((p) => p.cidr).join(", ")}`,
        "give a subnet inside the pool (allocator.default_address_pool), or leave it out to get one",
      );
    if (ipv4SubnetsOverlap(subnet, node))
      throw refuse(
        OrchErrorCode.NetworkSubnetOverlap,
        `network "${spec.name}": subnet ${subnet.cidr} overlaps the node subnet pool ${node.cidr}`,
        "give a subnet outside the node subnet pool",
      );
    const clash = others.find((o) => ipv4SubnetsOverlap(o.subnet, subnet));
    if (clash !== undefined)
      throw refuse(
        OrchErrorCode.NetworkSubnetOverlap,
        `network "${spec.name}": subnet ${subnet.cidr} overlaps subnet ${clash.subnet.cidr} of network "${clash.name}"`,
        "give each network its own subnet, or leave it out to get a free one",
      );
  } else {
    const found = lowestFree(pools, prefixLength, [node, ...others.map((o) => o.subnet)]);
    if (found === undefined)
      throw refuse(
        OrchErrorCode.NetworkPoolExhausted,
        `network "${spec.name}": the address pool ${pools.map((p) => p.cidr).join(", ")} has no free /${prefixLength} left`,
        "remove unused networks or add a pool (allocator.default_address_pool)",
      );
    subnet = found;
  }
  let gateway = formatIpv4(subnet.network + 1);
  if (config !== undefined && config.gateway !== "") {
    const ip = parseIpv4(config.gateway);
    if (ip === undefined || ip <= subnet.network || ip >= subnet.network + subnet.size - 1)
      throw refuse(
        OrchErrorCode.NetworkSubnetOutsidePool,
        `network "${spec.name}": gateway "${config.gateway}" is not a host address of subnet ${subnet.cidr}`,
        "give a gateway inside the subnet, or leave it out",
      );
    gateway = config.gateway;
  }
  const vnis = new Set(others.map((o) => o.vni));
  let vni = FIRST_VNI;
  while (vnis.has(vni) && vni < LAST_VNI) vni++;
  return { subnet, gateway, vni };
}

function lowestFree(
  pools: readonly Ipv4Subnet[],
  prefixLength: number,
  used: readonly Ipv4Subnet[],
): Ipv4Subnet | undefined {
  const size = 2 ** (32 - prefixLength);
  for (const pool of pools) {
    if (prefixLength < pool.prefixLength) continue;
    for (let net = pool.network; net + size <= pool.network + pool.size; net += size) {
      const candidate = parseIpv4Subnet(`${formatIpv4(net)}/${prefixLength}`);
      const clash = used.find((u) => ipv4SubnetsOverlap(u, candidate));
      if (clash === undefined) return candidate;
      // Skip past the subnet in the way (a /16 node pool is 256 steps of /24 otherwise).
      const end = clash.network + clash.size;
      if (end > net + size) net = end - size;
    }
  }
  return undefined;
}

/** The network object with its allocation written into `ipam` and `driver_state`. */
export function withAllocation(network: Network, a: NetworkAllocation): Network {
  return {
    ...network,
    driverState: { name: OVERLAY_DRIVER, options: { vni: String(a.vni) } },
    ipam: {
      driver: { name: "default", options: {} },
      configs: [{ subnet: a.subnet.cidr, ipRange: "", gateway: a.gateway }],
    },
  };
}

/** The network `ref` names (an id first, then a name), as a task template's attachment does. */
export function resolveNetwork(ref: string, networks: Iterable<Network>): Network | undefined {
  let byName: Network | undefined;
  for (const n of networks) {
    if (n.id === ref) return n;
    if (n.spec?.name === ref) byName = n;
  }
  return byName;
}
