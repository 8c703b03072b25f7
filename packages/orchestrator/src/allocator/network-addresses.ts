import { formatIpv4, type Ipv4Subnet, parseIpv4 } from "@shoal/base";
import type { Network, Service, Task } from "@shoal/proto";
import { hasEnded } from "../task-facts.js";
import type { ClusterView } from "../view.js";
import { allocationOf } from "./networks.js";

/**
 * The addresses in use on every allocated network, from the store alone: the gateway, the
 * services' VIPs, the nodes' ingress addresses and the network addresses of every task that has
 * not ended. A new leader builds the same book, so nothing leaks and nothing is handed out twice.
 */
export class NetworkAddressBook {
  private readonly subnets = new Map<string, Ipv4Subnet>();
  private readonly held = new Map<string, Set<number>>();

  constructor(view: ClusterView) {
    for (const n of view.networks?.values() ?? []) {
      const a = allocationOf(n);
      if (a === undefined) continue;
      this.subnets.set(n.id, a.subnet);
      this.held.set(n.id, new Set());
      this.hold(n.id, a.gateway);
    }
    for (const s of view.services.values()) this.holdService(s);
    const ingress = ingressNetworkOf(view);
    if (ingress !== undefined)
      for (const node of view.nodes.values()) this.hold(ingress.id, node.ingressAddress ?? "");
    for (const t of view.tasks.values()) if (!hasEnded(t)) this.holdTask(t);
    for (const t of view.networkTasks?.values() ?? []) if (!hasEnded(t)) this.holdTask(t);
  }

  holdService(service: Service): void {
    for (const vip of service.endpoint?.virtualIps ?? []) this.hold(vip.networkId, vip.addr);
  }

  holdTask(task: Task): void {
    for (const a of task.networks) for (const addr of a.addresses) this.hold(a.networkId, addr);
  }

  /** Gives an address back (a VIP the service no longer needs). */
  release(networkId: string, cidr: string): void {
    const ip = parseIpv4(cidr.split("/")[0] ?? "");
    if (ip !== undefined) this.held.get(networkId)?.delete(ip);
  }

  private hold(networkId: string, cidr: string): void {
    const ip = parseIpv4(cidr.split("/")[0] ?? "");
    if (ip !== undefined) this.held.get(networkId)?.add(ip);
  }

  /** The lowest free host address of the network in CIDR form, or undefined when it is full. */
  allocate(networkId: string): string | undefined {
    const subnet = this.subnets.get(networkId);
    const held = this.held.get(networkId);
    if (subnet === undefined || held === undefined) return undefined;
    for (let ip = subnet.network + 1; ip < subnet.network + subnet.size - 1; ip++) {
      if (held.has(ip)) continue;
      held.add(ip);
      return `${formatIpv4(ip)}/${subnet.prefixLength}`;
    }
    return undefined;
  }
}

/** The cluster's routing-mesh network, if one exists and is allocated. */
export function ingressNetworkOf(view: Pick<ClusterView, "networks">): Network | undefined {
  for (const n of view.networks?.values() ?? [])
    if (n.spec?.ingress === true && allocationOf(n) !== undefined) return n;
  return undefined;
}
