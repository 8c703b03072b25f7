import { type ClusterState, fixedPortKeys, MAX_RECENT_FAILURES } from "./cluster-state.js";
import { type CompiledConstraint, nodeMatchesConstraints } from "./constraints.js";
import { REASON_INDEX } from "./explain.js";
import { platformMatches } from "./platform.js";
import { FilterReason, type PendingGroup, type SchedulerNode } from "./types.js";

/**
 * Per-call caches of the filters that do not depend on what is placed: a constraint set or a
 * platform list is evaluated once per node per call, however many groups share it.
 */
export class StaticFilterCache {
  private readonly constraintMasks = new Map<string, Uint8Array>();
  private readonly platformMasks = new Map<string, Uint8Array>();

  constructor(private readonly state: ClusterState) {}

  constraintMask(constraints: readonly CompiledConstraint[]): Uint8Array {
    const key = constraints.map((c) => c.text).join("\n");
    let mask = this.constraintMasks.get(key);
    if (mask === undefined) {
      const nodes = this.state.nodes;
      mask = new Uint8Array(nodes.length);
      for (let i = 0; i < nodes.length; i++) {
        mask[i] = nodeMatchesConstraints(constraints, nodes[i] as SchedulerNode) ? 1 : 0;
      }
      this.constraintMasks.set(key, mask);
    }
    return mask;
  }

  platformMask(group: PendingGroup): Uint8Array {
    const key = group.platforms.map((p) => `${p.os}/${p.architecture}`).join("\n");
    let mask = this.platformMasks.get(key);
    if (mask === undefined) {
      const nodes = this.state.nodes;
      mask = new Uint8Array(nodes.length);
      for (let i = 0; i < nodes.length; i++) {
        mask[i] = platformMatches(group.platforms, (nodes[i] as SchedulerNode).platform) ? 1 : 0;
      }
      this.platformMasks.set(key, mask);
    }
    return mask;
  }
}

/**
 * The filter pipeline bound to one group. Static filters (ready, constraints, platform) are masks;
 * dynamic ones (resources, host ports, max replicas) read the state, which changes as tasks land.
 * `serviceCount` is a dense per-node copy of the group's service counts, kept current by `assign`.
 */
export class GroupFilters {
  readonly reqCpu: number;
  readonly reqMemory: number;
  readonly portKeys: number[];
  /** 0: unlimited. */
  readonly maxPerNode: number;

  constructor(
    readonly state: ClusterState,
    readonly group: PendingGroup,
    private readonly constraintOk: Uint8Array,
    private readonly platformOk: Uint8Array,
    readonly serviceCount: Int32Array,
  ) {
    this.reqCpu = group.reservations.nanoCpus;
    this.reqMemory = group.reservations.memoryBytes;
    this.portKeys = fixedPortKeys(group.hostPorts);
    this.maxPerNode = group.maxReplicasPerNode ?? 0;
  }

  /** Filters that cannot change while this group is placed. */
  passesStatic(n: number): boolean {
    return this.state.isAvailable[n] === 1 && this.constraintOk[n] === 1 && this.platformOk[n] === 1;
  }

  /** Filters that only get stricter as tasks of this group land: one more task fits on the node. */
  fitsOneMore(n: number): boolean {
    const s = this.state;
    if ((s.usedCpu[n] as number) + this.reqCpu > (s.totalCpu[n] as number)) return false;
    if ((s.usedMemory[n] as number) + this.reqMemory > (s.totalMemory[n] as number)) return false;
    if (this.maxPerNode > 0 && (this.serviceCount[n] as number) >= this.maxPerNode) return false;
    if (this.portKeys.length > 0 && s.portsConflict(n, this.portKeys)) return false;
    return true;
  }

  /** The first filter, in Swarm's order, that rejects the node; undefined when the node fits. */
  firstRejection(n: number): FilterReason | undefined {
    const s = this.state;
    if (s.isAvailable[n] !== 1) return FilterReason.NotReady;
    const cpuShort = (s.usedCpu[n] as number) + this.reqCpu > (s.totalCpu[n] as number);
    const memoryShort = (s.usedMemory[n] as number) + this.reqMemory > (s.totalMemory[n] as number);
    if (cpuShort && memoryShort) return FilterReason.InsufficientCpuAndMemory;
    if (memoryShort) return FilterReason.InsufficientMemory;
    if (cpuShort) return FilterReason.InsufficientCpu;
    if (this.constraintOk[n] !== 1) return FilterReason.Constraints;
    if (this.platformOk[n] !== 1) return FilterReason.Platform;
    if (this.portKeys.length > 0 && s.portsConflict(n, this.portKeys)) return FilterReason.HostPort;
    if (this.maxPerNode > 0 && (this.serviceCount[n] as number) >= this.maxPerNode) {
      return FilterReason.MaxReplicas;
    }
    return undefined;
  }

  /** Counts the first rejection of every node, indexed as explain.ts's REASON_INDEX. */
  countRejections(nodes: Iterable<number>): Int32Array {
    const counts = new Int32Array(REASON_INDEX.size);
    for (const n of nodes) {
      const r = this.firstRejection(n);
      if (r !== undefined) counts[REASON_INDEX.get(r) as number]++;
    }
    return counts;
  }

  /** Records one task of this group on the node. */
  assign(n: number): void {
    const s = this.state;
    s.usedCpu[n] = (s.usedCpu[n] as number) + this.reqCpu;
    s.usedMemory[n] = (s.usedMemory[n] as number) + this.reqMemory;
    s.taskCount[n] = (s.taskCount[n] as number) + 1;
    this.serviceCount[n] = (this.serviceCount[n] as number) + 1;
    for (const p of this.group.hostPorts) s.addPort(n, p);
  }

  /** Recent failures of this service version on the node when they reach the limit, else 0. */
  failurePenalty(failures: ReadonlyMap<number, number>, n: number): number {
    const f = failures.get(n) ?? 0;
    return f >= MAX_RECENT_FAILURES ? f : 0;
  }
}
