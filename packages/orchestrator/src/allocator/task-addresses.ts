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
    for (const t of view.tasks.values()) if (holdsAddress(t) && this.subnets.has(t.nodeId)) this.hold(t);
  }

  private hold(task: Task): void {
    const ip = addressOf(task);
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

/**
 * Each task's address as a number, kept per task object (the store's objects are never changed
 * in place; a new version is a new object): each scheduling pass builds the book from every task,
 * and parsing 100,000 addresses again per pass was a fifth of a pass.
 */
const parsedAddresses = new WeakMap<Task, number | undefined>();

function addressOf(task: Task): number | undefined {
  if (parsedAddresses.has(task)) return parsedAddresses.get(task);
  const ip = parseIpv4(task.address.split("/")[0] ?? "");
  parsedAddresses.set(task, ip);
  return ip;
}

/**
 * The task keeps its address until its container is gone. A task of a node removed from the
 * cluster holds nothing: the node's subnet went with it and may be given to a new node.
 */
export function holdsAddress(task: Task): boolean {
  return task.address !== "" && task.nodeId !== "" && !hasEnded(task);
}
