import { ShoalError } from "@shoal/base";
import { ipToInt, offsetOf, parseSubnet, type Subnet } from "./cidr.js";
import type { Protocol } from "./state.js";

/**
 * What the manager knows, as one node needs it: the overlay networks with tasks on this node, the
 * node's own endpoints on them, and the services reachable over them. `OverlayNetworks.apply`
 * makes the node match it (idempotent), so nothing is learnt by multicast or gossip.
 */
export interface OverlayDesired {
  networks: readonly OverlayNetworkSpec[];
  /** This node's containers on overlay networks. */
  endpoints: readonly OverlayEndpoint[];
  services: readonly OverlayService[];
}

export interface OverlayNetworkSpec {
  id: string;
  /** Unique among the networks (a stack network is `<stack>_<name>`). */
  name: string;
  /** VXLAN network identifier, 1..16777215, unique. */
  vni: number;
  subnet: string;
  /** Given to the bridge on every node (the containers' gateway and resolver address). */
  gateway: string;
  /** No route out of the subnet: no default route, no masquerade, no forwarding off the segment. */
  internal?: boolean;
  /** Plain containers (not service tasks) may join it. */
  attachable?: boolean;
  /** The routing mesh network: published ingress ports DNAT to tasks' addresses on it. */
  ingress?: boolean;
  /** Every node with endpoints on the network, this one included (skipped by its `nodeAddr`). */
  peers: readonly OverlayPeer[];
}

export interface OverlayPeer {
  /** The node's underlay address (VXLAN tunnel endpoint). */
  nodeAddr: string;
  /** The node's own address on the network; required on the ingress network (the mesh's next hop). */
  nodeIp?: string;
  endpoints: readonly { ip: string; mac?: string }[];
}

export interface OverlayEndpoint {
  containerId: string;
  /** Named network namespace under /run/netns (e.g. from `NodeNetwork.attach({ mode: "none" })`). */
  netns: string;
  /** A service task (default) or a plain container, which only `attachable` networks take. */
  kind?: "task" | "container";
  attachments: readonly { networkId: string; ip: string; ifname?: string }[];
}

export interface OverlayService {
  id: string;
  name: string;
  stack?: string;
  /** vip (default): one address per network balanced over the tasks; dnsrr: the task addresses. */
  endpointMode?: "vip" | "dnsrr";
  vips: readonly { networkId: string; ip: string }[];
  /** Ports published in ingress mode: every node answers, on the ingress network's tasks. */
  ingressPorts?: readonly { protocol?: Protocol; targetPort: number; publishedPort: number }[];
  tasks: readonly OverlayTask[];
}

export interface OverlayTask {
  id?: string;
  nodeAddr: string;
  /** Running and passing its health check (default true); others get no traffic and no DNS. */
  healthy?: boolean;
  addresses: readonly { networkId: string; ip: string }[];
}

export const OverlayErrorCode = {
  /** The desired state is inconsistent: overlapping subnets, a name or VNI in use, an address outside its subnet… */
  InvalidSpec: "OVERLAY_INVALID_SPEC",
  /** A plain container asked to join a network that is not attachable. */
  NotAttachable: "OVERLAY_NOT_ATTACHABLE",
} as const;

const MAX_VNI = 16_777_215;

function invalid(message: string, hint?: string): ShoalError {
  return new ShoalError(OverlayErrorCode.InvalidSpec, message, hint === undefined ? {} : { hint });
}

/** Deterministic MAC of an overlay address (Docker's 02:42 + the IPv4 bytes), so peers need only the address. */
export function macOf(ip: string): string {
  const n = ipToInt(ip) ?? 0;
  const bytes = [2, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

function overlaps(a: Subnet, b: Subnet): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

function inside(subnet: Subnet, ip: string, what: string): void {
  const off = offsetOf(subnet, ip);
  if (off === undefined || off === 0 || off === subnet.size - 1)
    throw invalid(`${what} "${ip}" is not a host address of subnet ${subnet.cidr}`);
}

/**
 * Refuses a desired state that cannot be programmed, naming what is wrong and where; returns the
 * parsed subnets by network id. Pure: nothing is changed before this passes.
 */
export function validateOverlay(desired: OverlayDesired): Map<string, Subnet> {
  const subnets = new Map<string, Subnet>();
  const names = new Map<string, string>();
  const vnis = new Map<number, string>();
  let ingress: string | undefined;
  for (const net of desired.networks) {
    if (net.id === "" || subnets.has(net.id)) throw invalid(`network id "${net.id}" is empty or given twice`);
    const other = names.get(net.name);
    if (other !== undefined)
      throw invalid(`network name "${net.name}" is in use by network "${other}"`, "choose another name");
    names.set(net.name, net.id);
    if (!Number.isInteger(net.vni) || net.vni < 1 || net.vni > MAX_VNI)
      throw invalid(`network "${net.name}": VNI ${net.vni} is not a whole number from 1 to ${MAX_VNI}`);
    const byVni = vnis.get(net.vni);
    if (byVni !== undefined)
      throw invalid(`network "${net.name}": VNI ${net.vni} is in use by network "${byVni}"`);
    vnis.set(net.vni, net.name);
    const subnet = parseSubnet(net.subnet);
    for (const [id, s] of subnets) {
      if (overlaps(s, subnet))
        throw invalid(
          `network "${net.name}": subnet ${subnet.cidr} overlaps subnet ${s.cidr} of network "${desired.networks.find((n) => n.id === id)?.name}"`,
          "give each network its own subnet",
        );
    }
    subnets.set(net.id, subnet);
    inside(subnet, net.gateway, `network "${net.name}": gateway`);
    if (net.ingress === true) {
      if (ingress !== undefined)
        throw invalid(`networks "${ingress}" and "${net.name}" are both ingress networks`);
      ingress = net.name;
    }
    const seen = new Set<string>([net.gateway]);
    for (const peer of net.peers) {
      if (ipToInt(peer.nodeAddr) === undefined)
        throw invalid(`network "${net.name}": peer address "${peer.nodeAddr}" is not an IPv4 address`);
      if (net.ingress === true && peer.nodeIp === undefined)
        throw invalid(`ingress network "${net.name}": peer ${peer.nodeAddr} has no nodeIp`);
      for (const ip of [
        ...(peer.nodeIp === undefined ? [] : [peer.nodeIp]),
        ...peer.endpoints.map((e) => e.ip),
      ]) {
        inside(subnet, ip, `network "${net.name}": address of peer ${peer.nodeAddr}`);
        if (seen.has(ip)) throw invalid(`network "${net.name}": address ${ip} is given twice`);
        seen.add(ip);
      }
    }
  }
  const netOf = (id: string, where: string): OverlayNetworkSpec => {
    const net = desired.networks.find((n) => n.id === id);
    if (net === undefined)
      throw invalid(`${where} names network "${id}", which is not in the desired networks`);
    return net;
  };
  const containers = new Set<string>();
  for (const ep of desired.endpoints) {
    if (containers.has(ep.containerId)) throw invalid(`endpoint "${ep.containerId}" is given twice`);
    containers.add(ep.containerId);
    const joined = new Set<string>();
    for (const a of ep.attachments) {
      const net = netOf(a.networkId, `endpoint "${ep.containerId}"`);
      if (joined.has(a.networkId))
        throw invalid(`endpoint "${ep.containerId}" joins network "${net.name}" twice`);
      joined.add(a.networkId);
      if (ep.kind === "container" && net.attachable !== true)
        throw new ShoalError(
          OverlayErrorCode.NotAttachable,
          `container "${ep.containerId}" cannot join network "${net.name}": it is not attachable`,
          { hint: "create the network with attachable: true, or run the container as a service" },
        );
      inside(
        subnets.get(net.id) as Subnet,
        a.ip,
        `endpoint "${ep.containerId}" on network "${net.name}": address`,
      );
      if (a.ifname !== undefined && !/^[a-zA-Z0-9_.-]{1,15}$/.test(a.ifname))
        throw invalid(
          `endpoint "${ep.containerId}": interface name "${a.ifname}" is not 1-15 plain characters`,
        );
    }
  }
  const serviceNames = new Set<string>();
  for (const svc of desired.services) {
    const full = svc.stack === undefined ? svc.name : `${svc.stack}_${svc.name}`;
    if (serviceNames.has(full)) throw invalid(`service name "${full}" is in use`);
    serviceNames.add(full);
    for (const vip of svc.vips) {
      const net = netOf(vip.networkId, `service "${full}"`);
      inside(subnets.get(net.id) as Subnet, vip.ip, `service "${full}" VIP on network "${net.name}"`);
    }
    for (const port of svc.ingressPorts ?? []) {
      for (const p of [port.targetPort, port.publishedPort])
        if (!Number.isInteger(p) || p < 1 || p > 65535)
          throw invalid(`service "${full}": port ${p} is not a whole number from 1 to 65535`);
    }
    if ((svc.ingressPorts ?? []).length > 0 && ingress === undefined)
      throw invalid(`service "${full}" publishes ingress ports but no network is the ingress network`);
    for (const task of svc.tasks) {
      for (const a of task.addresses) {
        const net = netOf(a.networkId, `a task of service "${full}"`);
        inside(subnets.get(net.id) as Subnet, a.ip, `task of service "${full}" on network "${net.name}"`);
      }
    }
  }
  return subnets;
}

/** Offset of `ip` within its subnet, as a number for marks and table ids. */
export function offsetIn(subnet: Subnet, ip: string): number {
  return offsetOf(subnet, ip) ?? 0;
}
