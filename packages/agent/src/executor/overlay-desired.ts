// The one translation from the dispatcher's overlay payload (wire) and the node's own endpoints
// to the runtime's `OverlayDesired` (pure). What cannot be programmed yet — an attachment to a
// network the payload does not name (it arrives with the next message), ingress ports without an
// ingress network — is left out rather than refused, so the rest of the node keeps working.
import type { NodeOverlay } from "@shoal/proto";
import type { OverlayDesired } from "@shoal/runtime";

/** A local container on overlay networks: its namespace and its address on each network. */
export interface LocalEndpoint {
  taskId: string;
  /** Named network namespace (under /run/netns). */
  netns: string;
  networks: readonly { networkId: string; ip: string }[];
}

/** Interface names inside the container: eth0 is the node bridge's, overlays follow in task order. */
export function overlayIfname(index: number): string {
  return `eth${index + 1}`;
}

export function toOverlayDesired(
  overlay: NodeOverlay | undefined,
  endpoints: Iterable<LocalEndpoint>,
): OverlayDesired {
  const networks = (overlay?.networks ?? []).map((n) => ({
    id: n.id,
    name: n.name,
    vni: n.vni,
    subnet: n.subnet,
    gateway: n.gateway,
    internal: n.internal,
    attachable: n.attachable,
    ingress: n.ingress,
    peers: n.peers.map((p) => ({
      nodeAddr: p.nodeAddr,
      ...(p.nodeIp === "" ? {} : { nodeIp: p.nodeIp }),
      endpoints: p.endpointIps.map((ip) => ({ ip })),
    })),
  }));
  const known = new Set(networks.map((n) => n.id));
  const hasIngress = networks.some((n) => n.ingress);
  const local: OverlayDesired["endpoints"][number][] = [];
  for (const ep of [...endpoints].sort((a, b) => (a.taskId < b.taskId ? -1 : 1))) {
    const attachments = ep.networks
      .map((a, i) => ({ networkId: a.networkId, ip: a.ip, ifname: overlayIfname(i) }))
      .filter((a) => known.has(a.networkId));
    if (attachments.length > 0) local.push({ containerId: ep.taskId, netns: ep.netns, attachments });
  }
  const services = (overlay?.services ?? []).map((s) => ({
    id: s.id,
    name: s.name,
    ...(s.stack === "" ? {} : { stack: s.stack }),
    endpointMode: s.dnsrr ? ("dnsrr" as const) : ("vip" as const),
    vips: s.vips.filter((v) => known.has(v.networkId)).map((v) => ({ networkId: v.networkId, ip: v.addr })),
    ingressPorts: hasIngress
      ? s.ingressPorts.map((p) => ({
          protocol: p.protocol === "udp" ? ("udp" as const) : ("tcp" as const),
          targetPort: p.targetPort,
          publishedPort: p.publishedPort,
        }))
      : [],
    tasks: s.tasks.map((t) => ({
      id: t.id,
      nodeAddr: t.nodeAddr,
      healthy: t.healthy,
      addresses: t.addresses
        .filter((a) => known.has(a.networkId))
        .map((a) => ({ networkId: a.networkId, ip: a.addr })),
    })),
  }));
  return { networks, endpoints: local, services };
}

/** The resolver address a task's containers use: the gateway of its first overlay network. */
export function resolverFor(
  overlay: NodeOverlay | undefined,
  networks: readonly { networkId: string }[],
): string | undefined {
  for (const a of networks) {
    const gateway = overlay?.networks.find((n) => n.id === a.networkId)?.gateway;
    if (gateway !== undefined && gateway !== "") return gateway;
  }
  return undefined;
}
