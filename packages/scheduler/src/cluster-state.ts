import { ShoalError } from "@shoal/base";
import { SchedulerErrorCode } from "./errors.js";
import type { HostPort, PlacedTask, SchedulerNode, SchedulerResources, TaskFailure } from "./types.js";

function isAmount(v: number): boolean {
  return Number.isFinite(v) && v >= 0;
}

/** True when both amounts are finite numbers ≥ 0. */
export function resourcesValid(r: SchedulerResources): boolean {
  return isAmount(r.nanoCpus) && isAmount(r.memoryBytes);
}

/** The error for resources that are not (see SCHEDULER_INVALID_INPUT); `what` names the owner. */
export function invalidResources(r: SchedulerResources, what: string): ShoalError {
  return new ShoalError(
    SchedulerErrorCode.InvalidInput,
    `${what} has resources nanoCpus=${r.nanoCpus} memoryBytes=${r.memoryBytes}; both must be finite and at least 0`,
    { details: { what, nanoCpus: r.nanoCpus, memoryBytes: r.memoryBytes } },
  );
}

/** Swarm's failure down-weighting: this many failures of one service version… */
export const MAX_RECENT_FAILURES = 5;
/** …within this window put a node last for that service version. */
export const FAILURE_WINDOW_MS = 5 * 60_000;

const PROTOCOL_INDEX: Readonly<Record<string, number>> = { tcp: 0, udp: 1, sctp: 2 };

/** One number per (port, protocol), so a node's used ports are a Set of numbers. */
export function portKey(port: HostPort): number {
  return port.publishedPort * 4 + (PROTOCOL_INDEX[port.protocol] ?? 3);
}

/**
 * The keys of the ports that occupy a fixed number on the node. Published port 0 asks the node for
 * a free port of its own choosing (as Swarm's HostPortFilter, it never conflicts): counting it as
 * port "0" would allow one such task per node.
 */
export function fixedPortKeys(ports: readonly HostPort[]): number[] {
  const keys: number[] = [];
  for (const p of ports) if (p.publishedPort !== 0) keys.push(portKey(p));
  return keys;
}

/**
 * The cluster as the scheduler sees it during one call: nodes by index, with what their running
 * tasks reserve and count, in typed arrays so the hot loops touch no objects. Placements made
 * during the call are added here, so later tasks and groups see them.
 */
export class ClusterState {
  readonly nodes: readonly SchedulerNode[];
  readonly size: number;
  readonly indexById = new Map<string, number>();
  /** 1 when the node is ready and active (Swarm's ReadyFilter). */
  readonly isAvailable: Uint8Array;
  readonly totalCpu: Float64Array;
  readonly totalMemory: Float64Array;
  readonly usedCpu: Float64Array;
  readonly usedMemory: Float64Array;
  /** Active tasks of every service per node (the second spread key). */
  readonly taskCount: Int32Array;
  /** Active tasks per service per node, sparse: most services touch few nodes. */
  private readonly serviceCounts = new Map<string, Map<number, number>>();
  private lastServiceId: string | undefined;
  private lastServiceCounts: Map<number, number> | undefined;
  /** Host ports in use per node, sparse. */
  private readonly usedPorts = new Map<number, Set<number>>();
  /** Recent failures per "service\0version", per node. */
  private readonly recentFailures = new Map<string, Map<number, number>>();

  constructor(
    nodes: readonly SchedulerNode[],
    placedTasks: readonly PlacedTask[],
    failures: readonly TaskFailure[],
    nowMs: number,
    /** Services whose per-node counts are needed (the pending ones); others only add to totals. */
    servicesOfInterest: ReadonlySet<string>,
  ) {
    this.nodes = nodes;
    const n = nodes.length;
    this.size = n;
    this.isAvailable = new Uint8Array(n);
    this.totalCpu = new Float64Array(n);
    this.totalMemory = new Float64Array(n);
    this.usedCpu = new Float64Array(n);
    this.usedMemory = new Float64Array(n);
    this.taskCount = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const node = nodes[i];
      if (!resourcesValid(node.resources)) throw invalidResources(node.resources, `node "${node.id}"`);
      this.indexById.set(node.id, i);
      this.isAvailable[i] = node.state === "ready" && node.availability === "active" ? 1 : 0;
      this.totalCpu[i] = node.resources.nanoCpus;
      this.totalMemory[i] = node.resources.memoryBytes;
    }
    for (const t of placedTasks) {
      const i = this.indexById.get(t.nodeId);
      if (i === undefined || !t.holdsResources) continue;
      if (!resourcesValid(t.reservations)) throw invalidResources(t.reservations, `task "${t.id}"`);
      this.usedCpu[i] = this.usedCpu[i] + t.reservations.nanoCpus;
      this.usedMemory[i] = this.usedMemory[i] + t.reservations.memoryBytes;
      for (const p of t.hostPorts) this.addPort(i, p);
      if (t.isActive) {
        this.taskCount[i] = this.taskCount[i] + 1;
        if (servicesOfInterest.has(t.serviceId)) this.addServiceCount(t.serviceId, i, 1);
      }
    }
    const since = nowMs - FAILURE_WINDOW_MS;
    for (const f of failures) {
      if (f.atMs < since || f.atMs > nowMs) continue;
      const i = this.indexById.get(f.nodeId);
      if (i === undefined) continue;
      const key = failureKey(f.serviceId, f.specVersion);
      let perNode = this.recentFailures.get(key);
      if (perNode === undefined) {
        perNode = new Map();
        this.recentFailures.set(key, perNode);
      }
      perNode.set(i, (perNode.get(i) ?? 0) + 1);
    }
  }

  addPort(node: number, port: HostPort): void {
    if (port.publishedPort === 0) return;
    let set = this.usedPorts.get(node);
    if (set === undefined) {
      set = new Set();
      this.usedPorts.set(node, set);
    }
    set.add(portKey(port));
  }

  removePort(node: number, port: HostPort): void {
    this.usedPorts.get(node)?.delete(portKey(port));
  }

  /** True when any of `ports` is already published on the node. */
  portsConflict(node: number, portKeys: readonly number[]): boolean {
    if (portKeys.length === 0) return false;
    const set = this.usedPorts.get(node);
    if (set === undefined) return false;
    for (const k of portKeys) if (set.has(k)) return true;
    return false;
  }

  addServiceCount(serviceId: string, node: number, delta: number): void {
    // Placed tasks usually arrive grouped by service: remember the last service's map.
    let perNode =
      serviceId === this.lastServiceId ? this.lastServiceCounts : this.serviceCounts.get(serviceId);
    if (perNode === undefined) {
      perNode = new Map();
      this.serviceCounts.set(serviceId, perNode);
    }
    this.lastServiceId = serviceId;
    this.lastServiceCounts = perNode;
    perNode.set(node, (perNode.get(node) ?? 0) + delta);
  }

  /** The sparse per-node counts of one service (empty when it has no active task). */
  serviceCountsOf(serviceId: string): ReadonlyMap<number, number> {
    return this.serviceCounts.get(serviceId) ?? EMPTY;
  }

  /** Failures of this service version per node within the window (sparse). */
  failuresOf(serviceId: string, specVersion: string): ReadonlyMap<number, number> {
    return this.recentFailures.get(failureKey(serviceId, specVersion)) ?? EMPTY;
  }
}

const EMPTY: ReadonlyMap<number, number> = new Map();

function failureKey(serviceId: string, specVersion: string): string {
  return `${serviceId}\u0000${specVersion}`;
}
