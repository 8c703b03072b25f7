import { healthyAddresses } from "./overlay.js";
import type { OverlayDesired } from "./overlay-spec.js";

/** What the node's embedded resolver knows: built from the desired state `OverlayNetworks.apply` got. */
export interface DnsView {
  /** Addresses to listen on: the gateways of the node's overlay networks. */
  listen: string[];
  /** Local container address → the networks that container is on. */
  clients: Map<string, string[]>;
  /** Lower-case name → per network, the addresses to answer. */
  names: Map<string, Map<string, string[]>>;
}

export function buildDnsView(desired: OverlayDesired): DnsView {
  const clients = new Map<string, string[]>();
  for (const ep of desired.endpoints) {
    const nets = ep.attachments.map((a) => a.networkId);
    for (const a of ep.attachments)
      clients.set(a.ip, [a.networkId, ...nets.filter((n) => n !== a.networkId)]);
  }
  const names = new Map<string, Map<string, string[]>>();
  const add = (name: string, networkId: string, ips: string[]) => {
    const key = name.toLowerCase();
    const byNet = names.get(key) ?? new Map<string, string[]>();
    byNet.set(networkId, [...(byNet.get(networkId) ?? []), ...ips]);
    names.set(key, byNet);
  };
  for (const svc of desired.services) {
    const aliases = svc.stack === undefined ? [svc.name] : [svc.name, `${svc.stack}_${svc.name}`];
    const networks = new Set([
      ...svc.vips.map((v) => v.networkId),
      ...svc.tasks.flatMap((t) => t.addresses.map((a) => a.networkId)),
    ]);
    for (const networkId of networks) {
      const tasks = healthyAddresses(svc.tasks, networkId);
      const vip = svc.vips.find((v) => v.networkId === networkId)?.ip;
      const main = (svc.endpointMode ?? "vip") === "vip" ? (vip === undefined ? [] : [vip]) : tasks;
      for (const alias of aliases) {
        add(alias, networkId, main);
        add(`tasks.${alias}`, networkId, tasks);
      }
    }
  }
  const listen = desired.networks.map((n) => n.gateway);
  return { listen, clients, names };
}

/**
 * The answer for `name` asked by `client`: the addresses on the networks the client is on (the
 * network it asked from first), or undefined when the name is not one of ours there — then the
 * question goes to the node's resolvers. A client the node does not know gets nothing of ours.
 */
export function resolveName(view: DnsView, client: string, name: string): string[] | undefined {
  const networks = view.clients.get(client);
  const byNet = view.names.get(name.toLowerCase().replace(/\.$/, ""));
  if (networks === undefined || byNet === undefined) return undefined;
  for (const networkId of networks) {
    const ips = byNet.get(networkId);
    if (ips !== undefined) return [...new Set(ips)];
  }
  return undefined;
}
