import { formatIpv4, type Ipv4Subnet, parseIpv4, parseIpv4Subnet } from "@shoal/base";
import type { Task } from "@shoal/proto";
import { hasEnded } from "../task-facts.js";
import type { ClusterView } from "../view.js";

/**
 * The addresses in use on each node's container subnet, from the tasks that hold one (assigned
 * and not ended), and the next free one. Offset 1 is the bridge's gateway; network and broadcast
 * are never handed out (the runtime's Ipam follows the same rule).
 */
export class NodeAddressBook {
  private readonly subnets = new Map<string, Ipv4Subnet>();
  private readonly held = new Map<string, Set<number>>();

  constructor(view: ClusterView) {
    for (const node of view.nodes.values()) {
      if (node.containerSubnet === "") continue;
      this.subnets.set(node.id, parseIpv4Subnet(node.containerSubnet));
      this.held.set(node.id, new Set());
    }
    for (const t of view.tasks.values()) if (holdsAddress(t)) this.hold(t);
  }

  private hold(task: Task): void {
    const ip = parseIpv4(task.address.split("/")[0] ?? "");
    if (ip !== undefined) this.held.get(task.nodeId)?.add(ip);
  }

  /** The next free address of the node's subnet in CIDR form, or undefined when it is full. */
  allocate(nodeId: string): string | undefined {
    const subnet = this.subnets.get(nodeId);
    const held = this.held.get(nodeId);
    if (subnet === undefined || held === undefined) return undefined;
    for (let ip = subnet.network + 2; ip < subnet.network + subnet.size - 1; ip++) {
      if (held.has(ip)) continue;
      held.add(ip);
      return `${formatIpv4(ip)}/${subnet.prefixLength}`;
    }
    return undefined;
  }
}

/** The task keeps its address until its container is gone. */
export function holdsAddress(task: Task): boolean {
  return task.address !== "" && task.nodeId !== "" && !hasEnded(task);
}
