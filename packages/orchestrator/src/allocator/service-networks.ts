import {
  type Endpoint,
  EndpointMode,
  type Network,
  type NetworkAttachment,
  type Service,
  type VirtualIp,
} from "@shoal/proto";
import type { ClusterView } from "../view.js";
import { ingressNetworkOf, type NetworkAddressBook } from "./network-addresses.js";
import { allocationOf, resolveNetwork } from "./networks.js";
import { isIngress } from "./ports.js";

export type ServiceNetworks =
  | { kind: "resolved"; networks: { network: Network; aliases: string[] }[] }
  | { kind: "waiting"; message: string };

/**
 * The networks a service's tasks join: those its template names (by id or name), and the
 * ingress network when it publishes a port in ingress mode (the routing mesh reaches its tasks
 * there). A network that does not exist, or is not allocated yet, keeps its tasks waiting.
 */
export function serviceNetworksOf(service: Service, view: Pick<ClusterView, "networks">): ServiceNetworks {
  const out: { network: Network; aliases: string[] }[] = [];
  const all = [...(view.networks?.values() ?? [])];
  for (const ref of service.spec?.taskTemplate?.networks ?? []) {
    const network = resolveNetwork(ref.target, all);
    if (network === undefined) return { kind: "waiting", message: `network "${ref.target}" not found` };
    if (allocationOf(network) === undefined)
      return { kind: "waiting", message: `network "${ref.target}" is not allocated yet` };
    if (!out.some((n) => n.network.id === network.id)) out.push({ network, aliases: [...ref.aliases] });
  }
  const ingress = ingressNetworkOf(view);
  const publishes = (service.spec?.endpointSpec?.ports ?? []).some(isIngress);
  if (ingress !== undefined && publishes && !out.some((n) => n.network.id === ingress.id))
    out.push({ network: ingress, aliases: [] });
  return { kind: "resolved", networks: out };
}

/**
 * The service's endpoint with one VIP per network it is on (VIP mode; none for dnsrr): a VIP
 * already given is kept, a missing one allocated, one of a network it left given back. Undefined
 * when nothing changes (or a network is full: its tasks then wait for an address too).
 */
export function allocateServiceVips(
  service: Service,
  networks: readonly Network[],
  book: NetworkAddressBook,
): Endpoint | undefined {
  const current = service.endpoint?.virtualIps ?? [];
  const dnsrr = service.spec?.endpointSpec?.mode === EndpointMode.DNSRR;
  const wanted = dnsrr ? [] : networks.map((n) => n.id);
  const next: VirtualIp[] = [];
  for (const id of wanted) {
    const kept = current.find((v) => v.networkId === id);
    if (kept !== undefined) {
      next.push(kept);
      continue;
    }
    const addr = book.allocate(id);
    if (addr === undefined) return undefined;
    next.push({ networkId: id, addr });
  }
  for (const v of current) if (!wanted.includes(v.networkId)) book.release(v.networkId, v.addr);
  const same =
    next.length === current.length &&
    next.every((v, i) => v.networkId === current[i]?.networkId && v.addr === current[i]?.addr);
  if (same && service.endpoint !== undefined) return undefined;
  return {
    spec: service.endpoint?.spec,
    ports: service.endpoint?.ports ?? [],
    virtualIps: next,
  };
}

/** A task's attachments: an address on each of its service's networks, or undefined when one is full. */
export function taskAttachments(
  networks: readonly { network: Network; aliases: string[] }[],
  book: NetworkAddressBook,
): NetworkAttachment[] | undefined {
  const out: NetworkAttachment[] = [];
  for (const { network, aliases } of networks) {
    const addr = book.allocate(network.id);
    if (addr === undefined) return undefined;
    out.push({ networkId: network.id, addresses: [addr], aliases });
  }
  return out;
}
