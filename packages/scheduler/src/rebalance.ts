import { type Random, seededRandom } from "@shoal/base";
import { ClusterState, fixedPortKeys } from "./cluster-state.js";
import { compileConstraints } from "./constraints.js";
import { type Demand, passesDynamicFilters, passesStaticFilters } from "./filter-table.js";
import { StaticFilterCache } from "./filters.js";
import { buildTreeShape, type TreeShape } from "./preference-tree.js";
import { parseSpreadDescriptor, spreadValueIds } from "./preferences.js";
import { TieBreakStream } from "./tie-break.js";
import type { PlacedTask, SchedulerNode, SchedulerPlatform, SpreadPreference } from "./types.js";

/** The placement spec of the service to rebalance (its tasks carry their own reservations and ports). */
export interface RebalanceService {
  serviceId: string;
  constraints: readonly string[];
  preferences: readonly SpreadPreference[];
  maxReplicasPerNode?: number | undefined;
  platforms: readonly SchedulerPlatform[];
}

export interface RebalanceInput {
  nodes: readonly SchedulerNode[];
  /** Every task on the cluster's nodes: other services' reservations and ports matter too. */
  placedTasks: readonly PlacedTask[];
  service: RebalanceService;
  /** At most this many moves are proposed. */
  maxMoves: number;
}

export interface Move {
  taskId: string;
  serviceId: string;
  fromNodeId: string;
  toNodeId: string;
}

export interface RebalanceOptions {
  /** A Random, or a numeric seed for one: ties between equal nodes break by it. */
  random: Random | number;
}

/**
 * Proposes at most `maxMoves` moves of the service's running tasks that bring it back within one
 * task per node (and per preference group, level by level) after nodes were added or came back.
 * Pure and deterministic for a seed. Each move goes from a fuller to an emptier place by at least
 * two tasks, so every move strictly improves balance; a target always passes every filter
 * (ready and active, resources, constraints, platform, host ports, max replicas per node).
 * Invalid constraints or preferences throw (the spec was validated when the service was created).
 */
export function planRebalance(input: RebalanceInput, options: RebalanceOptions): Move[] {
  const random = typeof options.random === "number" ? seededRandom(options.random) : options.random;
  const planner = new RebalancePlanner(input, random);
  return input.maxMoves > 0 ? planner.plan() : [];
}

/**
 * One planning run. Counts live per node (`serviceCount`) and per tree branch (`counts`,
 * `movableCount`) and are updated by every move, so later moves see earlier ones.
 */
class RebalancePlanner {
  private readonly state: ClusterState;
  private readonly service: RebalanceService;
  private readonly tree: TreeShape;
  /** The filter table's view of the task being moved: reservations and ports set per task. */
  private readonly demand: Demand;
  private readonly serviceCount: Int32Array;
  /** The service's running tasks per eligible node, in input order; moves take the last one. */
  private readonly movable: PlacedTask[][];
  private readonly counts: Int32Array;
  private readonly movableCount: Int32Array;
  private readonly nodeTie: Float64Array;
  private readonly branchTie: Float64Array;
  private readonly moves: Move[] = [];
  private readonly maxMoves: number;

  constructor(input: RebalanceInput, random: Random) {
    const { service } = input;
    this.service = service;
    this.maxMoves = input.maxMoves;
    const state = new ClusterState(input.nodes, input.placedTasks, [], 0, new Set([service.serviceId]));
    this.state = state;
    const size = state.size;
    this.serviceCount = new Int32Array(size);
    for (const [n, c] of state.serviceCountsOf(service.serviceId)) this.serviceCount[n] = c;
    const cache = new StaticFilterCache(state);
    this.demand = {
      cpu: 0,
      memory: 0,
      portKeys: [],
      maxPerNode: service.maxReplicasPerNode ?? 0,
      serviceCount: this.serviceCount,
      constraintOk: cache.constraintMask(compileConstraints(service.constraints)),
      platformOk: cache.platformMask(service.platforms),
    };
    const preferenceValues = service.preferences.map((p) =>
      spreadValueIds(input.nodes, parseSpreadDescriptor(p.spreadDescriptor)),
    );
    this.tree = buildTreeShape(size, (n) => passesStaticFilters(state, this.demand, n), preferenceValues);

    this.movable = Array.from({ length: size }, () => []);
    for (const t of input.placedTasks) {
      if (t.serviceId !== service.serviceId || !(t.holdsResources && t.isActive)) continue;
      const n = state.indexById.get(t.nodeId);
      if (n !== undefined && this.tree.leafOfNode[n] >= 0) this.movable[n].push(t);
    }
    const branchCount = this.tree.parent.length;
    this.counts = new Int32Array(branchCount);
    this.movableCount = new Int32Array(branchCount);
    for (let n = 0; n < size; n++) {
      for (let b = this.tree.leafOfNode[n]; b >= 0; b = this.tree.parent[b]) {
        this.counts[b] += this.serviceCount[n];
        this.movableCount[b] += this.movable[n].length;
      }
    }
    const ties = new TieBreakStream(random);
    this.nodeTie = new Float64Array(size);
    for (let n = 0; n < size; n++) this.nodeTie[n] = ties.next();
    this.branchTie = new Float64Array(branchCount);
    for (let b = 0; b < branchCount; b++) this.branchTie[b] = ties.next();
  }

  plan(): Move[] {
    if (this.tree.parent.length > 0) this.balance(0);
    return this.moves;
  }

  /**
   * Top-down: even out the first preference level, then within each group the next one, and so
   * on; moves inside a group never change the group's total, so upper levels stay balanced.
   */
  private balance(b: number): void {
    while (this.moves.length < this.maxMoves && this.moveOnce(b)) {}
    for (const k of this.tree.children[b]) this.balance(k);
  }

  /** One improving move inside branch b at its own level; false when none is possible. */
  private moveOnce(b: number): boolean {
    const nodes = this.tree.leafNodes[b];
    if (nodes !== undefined) return this.moveInsideLeaf(b, nodes);
    const kids = this.branchesAsc(this.tree.children[b]);
    for (let i = kids.length - 1; i >= 0; i--) {
      const src = kids[i];
      if (this.movableCount[src] === 0) continue;
      const from = this.pickSource(src);
      const tasks = this.movable[from];
      const task = tasks[tasks.length - 1];
      for (const dst of kids) {
        if (this.counts[dst] > this.counts[src] - 2) break;
        const to = this.pickTarget(dst, task, Number.MAX_SAFE_INTEGER);
        if (to >= 0) {
          this.apply(from, to);
          return true;
        }
      }
    }
    return false;
  }

  private moveInsideLeaf(b: number, nodes: Int32Array): boolean {
    // Usually the fullest node can give a task away: try it in one pass before sorting.
    const fullest = this.pickSource(b);
    if (fullest < 0) return false;
    if (this.tryMoveFrom(b, fullest)) return true;
    const sources = nodes
      .filter((n) => n !== fullest && this.movable[n].length > 0)
      .sort((x, y) => this.byCountAsc(y, x));
    for (const from of sources) if (this.tryMoveFrom(b, from)) return true;
    return false;
  }

  /** Moves the source's last task to the emptiest fitting node of leaf b with two tasks fewer. */
  private tryMoveFrom(b: number, from: number): boolean {
    const tasks = this.movable[from];
    const to = this.pickTarget(b, tasks[tasks.length - 1], this.serviceCount[from] - 2);
    if (to < 0) return false;
    this.apply(from, to);
    return true;
  }

  /** The fullest node with a movable task, descending through the fullest branches. */
  private pickSource(b: number): number {
    const nodes = this.tree.leafNodes[b];
    if (nodes !== undefined) {
      let best = -1;
      for (const n of nodes) {
        if (this.movable[n].length === 0) continue;
        if (best < 0 || this.byCountAsc(n, best) > 0) best = n;
      }
      return best;
    }
    const kids = this.branchesAsc(this.tree.children[b]).filter((k) => this.movableCount[k] > 0);
    return kids.length === 0 ? -1 : this.pickSource(kids[kids.length - 1]);
  }

  /** The emptiest node that can take the task, descending through the emptiest branches. */
  private pickTarget(b: number, task: PlacedTask, below: number): number {
    const nodes = this.tree.leafNodes[b];
    if (nodes !== undefined) {
      // One pass, no sort: the planner may run this for every source node of a large leaf.
      let best = -1;
      for (const n of nodes) {
        if (this.serviceCount[n] > below || (best >= 0 && this.byCountAsc(n, best) >= 0)) continue;
        if (this.fits(n, task)) best = n;
      }
      return best;
    }
    for (const k of this.branchesAsc(this.tree.children[b])) {
      const n = this.pickTarget(k, task, Number.MAX_SAFE_INTEGER);
      if (n >= 0) return n;
    }
    return -1;
  }

  /** The dynamic filters of the table with the moved task's own reservations and ports. */
  private fits(n: number, task: PlacedTask): boolean {
    const d = this.demand;
    d.cpu = task.reservations.nanoCpus;
    d.memory = task.reservations.memoryBytes;
    d.portKeys = fixedPortKeys(task.hostPorts);
    return passesDynamicFilters(this.state, d, n);
  }

  private byCountAsc(a: number, b: number): number {
    const { serviceCount, state, nodeTie } = this;
    return (
      serviceCount[a] - serviceCount[b] || state.taskCount[a] - state.taskCount[b] || nodeTie[a] - nodeTie[b]
    );
  }

  private branchesAsc(bs: readonly number[]): number[] {
    const { counts, branchTie } = this;
    return [...bs].sort((a, b) => counts[a] - counts[b] || branchTie[a] - branchTie[b]);
  }

  private apply(from: number, to: number): void {
    const { state, tree } = this;
    const task = this.movable[from].pop() as PlacedTask;
    state.usedCpu[from] -= task.reservations.nanoCpus;
    state.usedMemory[from] -= task.reservations.memoryBytes;
    state.usedCpu[to] += task.reservations.nanoCpus;
    state.usedMemory[to] += task.reservations.memoryBytes;
    for (const p of task.hostPorts) {
      state.removePort(from, p);
      state.addPort(to, p);
    }
    state.taskCount[from]--;
    state.taskCount[to]++;
    this.serviceCount[from]--;
    this.serviceCount[to]++;
    for (let b = tree.leafOfNode[from]; b >= 0; b = tree.parent[b]) {
      this.counts[b]--;
      this.movableCount[b]--;
    }
    for (let b = tree.leafOfNode[to]; b >= 0; b = tree.parent[b]) this.counts[b]++;
    this.moves.push({
      taskId: task.id,
      serviceId: this.service.serviceId,
      fromNodeId: state.nodes[from].id,
      toNodeId: state.nodes[to].id,
    });
  }
}
