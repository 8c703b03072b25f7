// What a node's overlay networks need, from the manager's task list (pure over one store view):
// the networks its tasks are on, each with the nodes that have endpoints on it (their underlay
// address and task addresses); the ingress network on every node while a service publishes a
// port through it; the services on those networks with their VIPs and tasks. Tasks of a node
// that is down, or gone, are left out everywhere (their entries leave every other node).
import {
  EndpointMode,
  isTaskTerminal,
  type Network,
  type Node,
  type NodeOverlay,
  NodeState,
  type OverlayNetwork,
  type OverlayPeer,
  type OverlayService,
  PortProtocol,
  PublishMode,
  type Service,
  type Task,
  TaskState,
} from "@shoal/proto";
import type { ReadTx } from "@shoal/store";

/** The stack label Compose stacks put on their services (`<stack>_<service>` names). */
const STACK_LABEL = "com.docker.stack.namespace";

const bare = (cidr: string): string => cidr.split("/")[0] ?? cidr;

/** The node's underlay address as the dispatcher saw it, else the first it reported. */
function underlayOf(node: Node | undefined): string {
  const seen = node?.status?.addr ?? "";
  if (seen !== "") return seen;
  return node?.description?.addresses.find((a) => !a.includes(":")) ?? "";
}

/** A task whose addresses are in use on its node: assigned, not ended, on a node that is up. */
function isPlaced(task: Task, nodes: ReadonlyMap<string, Node>): boolean {
  const state = task.status?.state ?? TaskState.NEW;
  if (task.nodeId === "" || state < TaskState.ASSIGNED || isTaskTerminal(state)) return false;
  const node = nodes.get(task.nodeId);
  return node !== undefined && node.status?.state !== NodeState.DOWN;
}

function isHealthy(task: Task): boolean {
  const health = task.status?.containerStatus?.health ?? "";
  return (
    task.status?.state === TaskState.RUNNING &&
    task.desiredState <= TaskState.RUNNING &&
    health !== "starting" &&
    health !== "unhealthy"
  );
}

function ingressPortsOf(service: Service): OverlayService["ingressPorts"] {
  return (service.endpoint?.ports ?? [])
    .filter((p) => p.publishMode !== PublishMode.HOST && p.publishedPort > 0)
    .map((p) => ({
      protocol: p.protocol === PortProtocol.UDP ? "udp" : "tcp",
      targetPort: p.targetPort,
      publishedPort: p.publishedPort,
    }));
}

/** Undefined when the node needs no overlay state at all (no task on a network, no mesh). */
export function overlayOf(tx: ReadTx, nodeId: string): NodeOverlay | undefined {
  const own = tx.tasks.find("nodeId", nodeId);
  const services = tx.services.list().filter((s) => !s.pendingDelete);
  const meshed = services.filter((s) => (ingressPortsOf(s) ?? []).length > 0);
  if (meshed.length === 0 && !own.some((t) => t.networks.length > 0)) return undefined;
  const nodes = new Map(tx.nodes.list().map((n) => [n.id, n]));
  const me = nodes.get(nodeId);
  if (me === undefined || me.status?.state === NodeState.DOWN) return undefined;
  const networks = new Map(tx.networks.list().map((n) => [n.id, n]));
  const ingress = [...networks.values()].find((n) => n.spec?.ingress === true);
  const wanted = new Set<string>();
  for (const t of own) if (isPlaced(t, nodes)) for (const a of t.networks) wanted.add(a.networkId);
  if (ingress !== undefined && meshed.length > 0) wanted.add(ingress.id);
  const placed = tx.tasks.list().filter((t) => t.networks.length > 0 && isPlaced(t, nodes));
  const out: NodeOverlay = { networks: [], services: [] };
  for (const id of [...wanted].sort()) {
    const network = networks.get(id);
    if (network !== undefined) out.networks.push(overlayNetwork(network, placed, nodes));
  }
  for (const service of services.sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const s = overlayService(service, placed, nodes, wanted);
    if (s !== undefined) out.services.push(s);
  }
  return out;
}

function overlayNetwork(
  network: Network,
  placed: readonly Task[],
  nodes: ReadonlyMap<string, Node>,
): OverlayNetwork {
  const config = network.ipam?.configs[0];
  const peers = new Map<string, OverlayPeer>();
  const peer = (node: Node): OverlayPeer | undefined => {
    const addr = underlayOf(node);
    if (addr === "") return undefined;
    let p = peers.get(node.id);
    if (p === undefined) {
      p = {
        nodeId: node.id,
        nodeAddr: addr,
        nodeIp: network.spec?.ingress === true ? bare(node.ingressAddress ?? "") : "",
        endpointIps: [],
      };
      peers.set(node.id, p);
    }
    return p;
  };
  if (network.spec?.ingress === true) {
    // The mesh spans every node that is up and has its ingress address.
    for (const node of nodes.values())
      if (node.status?.state === NodeState.READY && (node.ingressAddress ?? "") !== "") peer(node);
  }
  for (const t of placed) {
    const a = t.networks.find((x) => x.networkId === network.id);
    const node = nodes.get(t.nodeId);
    if (a === undefined || node === undefined) continue;
    if (network.spec?.ingress === true && (node.ingressAddress ?? "") === "") continue;
    const p = peer(node);
    for (const addr of a.addresses) p?.endpointIps.push(bare(addr));
  }
  return {
    id: network.id,
    name: network.spec?.name ?? network.id,
    vni: Number(network.driverState?.options.vni ?? 0),
    subnet: config?.subnet ?? "",
    gateway: config?.gateway ?? "",
    internal: network.spec?.internal === true,
    attachable: network.spec?.attachable === true,
    ingress: network.spec?.ingress === true,
    peers: [...peers.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)),
  };
}

function overlayService(
  service: Service,
  placed: readonly Task[],
  nodes: ReadonlyMap<string, Node>,
  networks: ReadonlySet<string>,
): OverlayService | undefined {
  const vips = (service.endpoint?.virtualIps ?? [])
    .filter((v) => networks.has(v.networkId))
    .map((v) => ({ networkId: v.networkId, addr: bare(v.addr) }));
  const tasks = placed
    .filter((t) => t.serviceId === service.id)
    .map((t) => ({
      id: t.id,
      nodeAddr: underlayOf(nodes.get(t.nodeId)),
      healthy: isHealthy(t),
      addresses: t.networks
        .filter((a) => networks.has(a.networkId))
        .flatMap((a) => a.addresses.map((addr) => ({ networkId: a.networkId, addr: bare(addr) }))),
    }))
    .filter((t) => t.addresses.length > 0);
  const ingressPorts = ingressPortsOf(service) ?? [];
  if (vips.length === 0 && tasks.length === 0 && ingressPorts.length === 0) return undefined;
  const full = service.spec?.name ?? service.id;
  const stack = service.spec?.labels[STACK_LABEL] ?? "";
  const name = stack !== "" && full.startsWith(`${stack}_`) ? full.slice(stack.length + 1) : full;
  return {
    id: service.id,
    name,
    stack,
    dnsrr: service.spec?.endpointSpec?.mode === EndpointMode.DNSRR,
    vips,
    ingressPorts,
    tasks,
  };
}
