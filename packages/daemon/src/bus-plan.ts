// Where the cluster bus (issue 19) runs, derived from the cluster addresses (pure): a manager's
// nats-server serves clients on its cluster port + 1 and routes on + 2 (overridable by flags on
// the node itself; other nodes derive a manager's from its advertised address, so an override
// must be the same on every manager), users are the store's nodes, routes the managers' addresses.
import { type HostPort, type NodeAccess, parseHostPort } from "@shoal/bus";
import { type Node, NodeRole } from "@shoal/proto";

export const NATS_CLIENT_PORT_OFFSET = 1;
export const NATS_CLUSTER_PORT_OFFSET = 2;

/** `host:port` with the port moved by `offset`. */
export function shiftPort(address: string, offset: number, what: string): HostPort {
  const hp = parseHostPort(address, what);
  return { host: hp.host, port: hp.port + offset };
}

/** `tls://host:port` of every manager's client port, from their cluster addresses. */
export function natsUrlsOf(managerAddresses: readonly string[]): string[] {
  return [...new Set(managerAddresses)].map((a) => {
    const hp = shiftPort(a, NATS_CLIENT_PORT_OFFSET, "manager address");
    return `tls://${hp.host.includes(":") ? `[${hp.host}]` : hp.host}:${hp.port}`;
  });
}

/** The nodes the server lets in: every node of the store, by role. */
export function natsNodesOf(nodes: readonly Node[]): NodeAccess[] {
  return nodes.map((n) => ({ nodeId: n.id, role: n.role === NodeRole.MANAGER ? "manager" : "worker" }));
}

/** Routes to every manager's cluster port (our own may be among them: nats-server skips it). */
export function natsRoutesOf(nodes: readonly Node[]): HostPort[] {
  return nodes
    .flatMap((n) => (n.role === NodeRole.MANAGER && n.managerStatus?.addr ? [n.managerStatus.addr] : []))
    .sort()
    .map((a) => shiftPort(a, NATS_CLUSTER_PORT_OFFSET, "manager address"));
}
