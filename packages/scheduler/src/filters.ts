import { type ClusterState, fixedPortKeys, MAX_RECENT_FAILURES } from "./cluster-state.js";
import { type CompiledConstraint, nodeMatchesConstraints } from "./constraints.js";
import { type Demand, firstRejection, passesStaticFilters, REASON_INDEX } from "./filter-table.js";
import { platformMatches } from "./platform.js";
import type { FilterReason, PendingGroup, SchedulerPlatform } from "./types.js";

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
        mask[i] = nodeMatchesConstraints(constraints, nodes[i]) ? 1 : 0;
      }
      this.constraintMasks.set(key, mask);
    }
    return mask;
  }

  platformMask(platforms: readonly SchedulerPlatform[]): Uint8Array {
    const key = platforms.map((p) => `${p.os}/${p.architecture}`).join("\n");
    let mask = this.platformMasks.get(key);
    if (mask === undefined) {
      const nodes = this.state.nodes;
      mask = new Uint8Array(nodes.length);
      for (let i = 0; i < nodes.length; i++) {
        mask[i] = platformMatches(platforms, nodes[i].platform) ? 1 : 0;
      }
      this.platformMasks.set(key, mask);
    }
    return mask;
  }
}

/**
 * The filter table (filter-table.ts) bound to one group: its demand, plus the static masks and a
 * dense per-node copy of the group's service counts, kept current by `assign`.
 */
export class GroupFilters implements Demand {
  readonly cpu: number;
  readonly memory: number;
  readonly portKeys: number[];
  /** 0: unlimited. */
  readonly maxPerNode: number;

  constructor(
    readonly state: ClusterState,
    readonly group: PendingGroup,
    readonly constraintOk: Uint8Array,
    readonly platformOk: Uint8Array,
    readonly serviceCount: Int32Array,
  ) {
    this.cpu = group.reservations.nanoCpus;
    this.memory = group.reservations.memoryBytes;
    this.portKeys = fixedPortKeys(group.hostPorts);
    this.maxPerNode = group.maxReplicasPerNode ?? 0;
  }

  /** Filters that cannot change while this group is placed. */
  passesStatic(n: number): boolean {
    return passesStaticFilters(this.state, this, n);
  }

  /**
   * The dynamic filters of the table, written out for the hot path (it runs once per placed task
   * and per eligible node): exactly `passesDynamicFilters`, which filters.test.ts checks by a
   * property. A new dynamic filter adds its line here.
   */
  fitsOneMore(n: number): boolean {
    const s = this.state;
    if (s.usedCpu[n] + this.cpu > s.totalCpu[n]) return false;
    if (s.usedMemory[n] + this.memory > s.totalMemory[n]) return false;
    if (this.maxPerNode > 0 && this.serviceCount[n] >= this.maxPerNode) return false;
    if (this.portKeys.length > 0 && s.portsConflict(n, this.portKeys)) return false;
    return true;
  }

  /** The first filter, in Swarm's order, that rejects the node; undefined when the node fits. */
  firstRejection(n: number): FilterReason | undefined {
    return firstRejection(this.state, this, n);
  }

  /** Counts the first rejection of every node, indexed as filter-table.ts's REASON_INDEX. */
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
    s.usedCpu[n] += this.cpu;
    s.usedMemory[n] += this.memory;
    s.taskCount[n]++;
    this.serviceCount[n]++;
    for (const p of this.group.hostPorts) s.addPort(n, p);
  }

  /** Recent failures of this service version on the node when they reach the limit, else 0. */
  failurePenalty(failures: ReadonlyMap<number, number>, n: number): number {
    const f = failures.get(n) ?? 0;
    return f >= MAX_RECENT_FAILURES ? f : 0;
  }
}
