// What a node's overlay networks need, from the manager's task list (pure over one store view):
// the networks its tasks are on, each with the nodes that have endpoints on it (their underlay
// address and task addresses); the ingress network on every node while a service publishes a
// port through it; the services on those networks with their VIPs and tasks. Tasks of a node
// that is down, or gone, are left out everywhere (their entries leave every other node).
import { createHash } from "node:crypto";
import {
  EndpointMode,
  isTaskTerminal,
  type Network,
  type Node,
  type NodeOverlay,
  NodeState,
  OverlayNetwork,
  type OverlayPeer,
  OverlayService,
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
export function overlayOf(
  tx: ReadTx,
  nodeId: string,
  catalog = new OverlayCatalog(tx),
): NodeOverlay | undefined {
  return catalog.forNode(tx, nodeId)?.overlay;
}

/** A node's overlay state and a key equal for equal states (compare keys, not encodings). */
export interface KeyedOverlay {
  overlay: NodeOverlay;
  key: string;
}

interface Part<T> {
  value: T;
  /** Digest of the part's encoding: computed once, shared by every node holding the part. */
  digest: string;
}

const digestOf = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("base64");

/**
 * Everything of the overlay state that is the same for every node, from one store view: the
 * placed tasks by network and by service, and each network's and service's payload, built once
 * and shared. A node's state is then its networks' and services' parts — cost in the size of
 * that state, not in nodes × tasks as when every node walked every task and service (and each
 * change re-encoded every node's whole state to compare it). Read-only after the view it was
 * built from: `OverlayCatalogCache` keeps one per store index.
 */
export class OverlayCatalog {
  private readonly services: Service[];
  private readonly meshed: boolean;
  private indexed:
    | {
        nodes: Map<string, Node>;
        networks: Map<string, Network>;
        ingress: Network | undefined;
        placedByNetwork: Map<string, Task[]>;
        placedByService: Map<string, Task[]>;
        /** The services with a VIP or a placed task's address on each network. */
        servicesByNetwork: Map<string, Set<string>>;
        /** The networks of each service's VIPs and placed tasks. */
        networksOfService: Map<string, Set<string>>;
      }
    | undefined;
  private readonly networkParts = new Map<string, Part<OverlayNetwork>>();
  private readonly serviceParts = new Map<string, Part<OverlayService> | undefined>();

  constructor(tx: ReadTx) {
    this.services = tx.services
      .list()
      .filter((s) => !s.pendingDelete)
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    this.meshed = this.services.some((s) => ingressPortsOf(s).length > 0);
  }

  /** The node's state in the view `tx` this catalog was built from; undefined when it needs none. */
  forNode(tx: ReadTx, nodeId: string): KeyedOverlay | undefined {
    const own = tx.tasks.find("nodeId", nodeId);
    if (!this.meshed && !own.some((t) => t.networks.length > 0)) return undefined;
    const ix = this.index(tx);
    const me = ix.nodes.get(nodeId);
    if (me === undefined || me.status?.state === NodeState.DOWN) return undefined;
    const wanted = new Set<string>();
    for (const t of own) if (isPlaced(t, ix.nodes)) for (const a of t.networks) wanted.add(a.networkId);
    if (ix.ingress !== undefined && this.meshed) wanted.add(ix.ingress.id);
    const out: NodeOverlay = { networks: [], services: [] };
    const digests: string[] = [];
    for (const id of [...wanted].sort()) {
      const part = this.networkPart(id);
      if (part === undefined) continue;
      out.networks.push(part.value);
      digests.push(part.digest);
    }
    digests.push("|");
    const candidates = new Set<string>();
    for (const id of wanted) for (const s of ix.servicesByNetwork.get(id) ?? []) candidates.add(s);
    for (const service of this.services) {
      if (!candidates.has(service.id) && ingressPortsOf(service).length === 0) continue;
      const part = this.servicePart(service, wanted);
      if (part === undefined) continue;
      out.services.push(part.value);
      digests.push(part.digest);
    }
    return { overlay: out, key: digests.join(",") };
  }

  private index(tx: ReadTx): NonNullable<OverlayCatalog["indexed"]> {
    if (this.indexed !== undefined) return this.indexed;
    const nodes = new Map(tx.nodes.list().map((n) => [n.id, n]));
    const networks = new Map(tx.networks.list().map((n) => [n.id, n]));
    const ingress = [...networks.values()].find((n) => n.spec?.ingress === true);
    const placedByNetwork = new Map<string, Task[]>();
    const placedByService = new Map<string, Task[]>();
    const servicesByNetwork = new Map<string, Set<string>>();
    const networksOfService = new Map<string, Set<string>>();
    const link = (serviceId: string, networkId: string) => {
      add(servicesByNetwork, networkId, serviceId);
      add(networksOfService, serviceId, networkId);
    };
    for (const s of this.services) for (const v of s.endpoint?.virtualIps ?? []) link(s.id, v.networkId);
    for (const t of tx.tasks.list()) {
      if (t.networks.length === 0 || !isPlaced(t, nodes)) continue;
      push(placedByService, t.serviceId, t);
      for (const networkId of new Set(t.networks.map((a) => a.networkId))) {
        push(placedByNetwork, networkId, t);
        link(t.serviceId, networkId);
      }
    }
    this.indexed = {
      nodes,
      networks,
      ingress,
      placedByNetwork,
      placedByService,
      servicesByNetwork,
      networksOfService,
    };
    return this.indexed;
  }

  private networkPart(id: string): Part<OverlayNetwork> | undefined {
    const ix = this.indexed;
    const network = ix?.networks.get(id);
    if (ix === undefined || network === undefined) return undefined;
    let part = this.networkParts.get(id);
    if (part === undefined) {
      const value = overlayNetwork(network, ix.placedByNetwork.get(id) ?? [], ix.nodes);
      part = { value, digest: digestOf(OverlayNetwork.encode(value).finish()) };
      this.networkParts.set(id, part);
    }
    return part;
  }

  /** Depends on the node only through which of the service's networks it holds. */
  private servicePart(service: Service, wanted: ReadonlySet<string>): Part<OverlayService> | undefined {
    const ix = this.indexed;
    if (ix === undefined) return undefined;
    const mine = [...(ix.networksOfService.get(service.id) ?? [])].filter((n) => wanted.has(n)).sort();
    const key = `${service.id}/${mine.join(",")}`;
    if (this.serviceParts.has(key)) return this.serviceParts.get(key);
    const value = overlayService(service, ix.placedByService.get(service.id) ?? [], ix.nodes, new Set(mine));
    const part =
      value === undefined ? undefined : { value, digest: digestOf(OverlayService.encode(value).finish()) };
    this.serviceParts.set(key, part);
    return part;
  }
}

/** One catalog per store index: the nodes woken by one commit share it. */
export class OverlayCatalogCache {
  private index = -1;
  private catalog: OverlayCatalog | undefined;
  /** Catalogs built (tests, benchmarks). */
  built = 0;

  /** The catalog of `tx`, the view of the store at applied index `index`. */
  at(tx: ReadTx, index: number): OverlayCatalog {
    if (this.catalog === undefined || index !== this.index) {
      this.catalog = new OverlayCatalog(tx);
      this.index = index;
      this.built++;
    }
    return this.catalog;
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set === undefined) map.set(key, new Set([value]));
  else set.add(value);
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
