import { type Random, seededRandom } from "@shoal/base";
import { ClusterState, fixedPortKeys } from "./cluster-state.js";
import { compileConstraints, nodeMatchesConstraints } from "./constraints.js";
import { platformMatches } from "./platform.js";
import { buildTreeShape } from "./preference-tree.js";
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
  const { service, maxMoves } = input;
  const state = new ClusterState(input.nodes, input.placedTasks, [], 0, new Set([service.serviceId]));
  const size = state.size;
  const constraints = compileConstraints(service.constraints);
  const preferenceValues = service.preferences.map((p) =>
    spreadValueIds(input.nodes, parseSpreadDescriptor(p.spreadDescriptor)),
  );
  const eligible = (n: number) =>
    state.isAvailable[n] === 1 &&
    nodeMatchesConstraints(constraints, input.nodes[n] as SchedulerNode) &&
    platformMatches(service.platforms, (input.nodes[n] as SchedulerNode).platform);
  const tree = buildTreeShape(size, eligible, preferenceValues);
  const maxPerNode = service.maxReplicasPerNode ?? 0;

  const serviceCount = new Int32Array(size);
  for (const [n, c] of state.serviceCountsOf(service.serviceId)) serviceCount[n] = c;
  // The service's running tasks per eligible node, in input order; moves take the last one.
  const movable: PlacedTask[][] = Array.from({ length: size }, () => []);
  for (const t of input.placedTasks) {
    if (t.serviceId !== service.serviceId || !(t.holdsResources && t.isActive)) continue;
    const n = state.indexById.get(t.nodeId);
    if (n !== undefined && (tree.leafOfNode[n] as number) >= 0) (movable[n] as PlacedTask[]).push(t);
  }
  const branchCount = tree.parent.length;
  const counts = new Int32Array(branchCount);
  const movableCount = new Int32Array(branchCount);
  for (let n = 0; n < size; n++) {
    for (let b = tree.leafOfNode[n] as number; b >= 0; b = tree.parent[b] as number) {
      counts[b] = (counts[b] as number) + (serviceCount[n] as number);
      movableCount[b] = (movableCount[b] as number) + (movable[n] as PlacedTask[]).length;
    }
  }
  const ties = new TieBreakStream(random);
  const nodeTie = new Float64Array(size);
  for (let n = 0; n < size; n++) nodeTie[n] = ties.next();
  const branchTie = new Float64Array(branchCount);
  for (let b = 0; b < branchCount; b++) branchTie[b] = ties.next();

  const fits = (n: number, task: PlacedTask): boolean => {
    if ((state.usedCpu[n] as number) + task.reservations.nanoCpus > (state.totalCpu[n] as number))
      return false;
    if ((state.usedMemory[n] as number) + task.reservations.memoryBytes > (state.totalMemory[n] as number)) {
      return false;
    }
    if (maxPerNode > 0 && (serviceCount[n] as number) + 1 > maxPerNode) return false;
    return !state.portsConflict(n, fixedPortKeys(task.hostPorts));
  };
  const byCountAsc = (a: number, b: number) =>
    (serviceCount[a] as number) - (serviceCount[b] as number) ||
    (state.taskCount[a] as number) - (state.taskCount[b] as number) ||
    (nodeTie[a] as number) - (nodeTie[b] as number);
  const branchesAsc = (bs: readonly number[]) =>
    [...bs].sort(
      (a, b) =>
        (counts[a] as number) - (counts[b] as number) || (branchTie[a] as number) - (branchTie[b] as number),
    );

  /** The fullest node with a movable task, descending through the fullest branches. */
  const pickSource = (b: number): number => {
    const nodes = tree.leafNodes[b];
    if (nodes !== undefined) {
      let best = -1;
      for (const n of nodes) {
        if ((movable[n] as PlacedTask[]).length === 0) continue;
        if (best < 0 || byCountAsc(n, best) > 0) best = n;
      }
      return best;
    }
    const kids = branchesAsc(tree.children[b] as number[]).filter((k) => (movableCount[k] as number) > 0);
    return kids.length === 0 ? -1 : pickSource(kids[kids.length - 1] as number);
  };
  /** The emptiest node that can take the task, descending through the emptiest branches. */
  const pickTarget = (b: number, task: PlacedTask, below: number): number => {
    const nodes = tree.leafNodes[b];
    if (nodes !== undefined) {
      // One pass, no sort: the planner may run this for every source node of a large leaf.
      let best = -1;
      for (const n of nodes) {
        if ((serviceCount[n] as number) > below || (best >= 0 && byCountAsc(n, best) >= 0)) continue;
        if (fits(n, task)) best = n;
      }
      return best;
    }
    for (const k of branchesAsc(tree.children[b] as number[])) {
      const n = pickTarget(k, task, Number.MAX_SAFE_INTEGER);
      if (n >= 0) return n;
    }
    return -1;
  };

  const moves: Move[] = [];
  const apply = (from: number, to: number): void => {
    const task = (movable[from] as PlacedTask[]).pop() as PlacedTask;
    state.usedCpu[from] = (state.usedCpu[from] as number) - task.reservations.nanoCpus;
    state.usedMemory[from] = (state.usedMemory[from] as number) - task.reservations.memoryBytes;
    state.usedCpu[to] = (state.usedCpu[to] as number) + task.reservations.nanoCpus;
    state.usedMemory[to] = (state.usedMemory[to] as number) + task.reservations.memoryBytes;
    for (const p of task.hostPorts) {
      state.removePort(from, p);
      state.addPort(to, p);
    }
    state.taskCount[from] = (state.taskCount[from] as number) - 1;
    state.taskCount[to] = (state.taskCount[to] as number) + 1;
    serviceCount[from] = (serviceCount[from] as number) - 1;
    serviceCount[to] = (serviceCount[to] as number) + 1;
    for (let b = tree.leafOfNode[from] as number; b >= 0; b = tree.parent[b] as number) {
      counts[b] = (counts[b] as number) - 1;
      movableCount[b] = (movableCount[b] as number) - 1;
    }
    for (let b = tree.leafOfNode[to] as number; b >= 0; b = tree.parent[b] as number) {
      counts[b] = (counts[b] as number) + 1;
    }
    moves.push({
      taskId: task.id,
      serviceId: service.serviceId,
      fromNodeId: (input.nodes[from] as SchedulerNode).id,
      toNodeId: (input.nodes[to] as SchedulerNode).id,
    });
  };

  /** Moves the source's last task to the emptiest fitting node of leaf b with two tasks fewer. */
  const tryMoveFrom = (b: number, from: number): boolean => {
    const tasks = movable[from] as PlacedTask[];
    const to = pickTarget(b, tasks[tasks.length - 1] as PlacedTask, (serviceCount[from] as number) - 2);
    if (to < 0) return false;
    apply(from, to);
    return true;
  };

  /** One improving move inside branch b at its own level; false when none is possible. */
  const moveOnce = (b: number): boolean => {
    const nodes = tree.leafNodes[b];
    if (nodes !== undefined) {
      // Usually the fullest node can give a task away: try it in one pass before sorting.
      const fullest = pickSource(b);
      if (fullest < 0) return false;
      if (tryMoveFrom(b, fullest)) return true;
      const sources = nodes
        .filter((n) => n !== fullest && (movable[n] as PlacedTask[]).length > 0)
        .sort((x, y) => byCountAsc(y, x));
      for (const from of sources) if (tryMoveFrom(b, from)) return true;
      return false;
    }
    const kids = branchesAsc(tree.children[b] as number[]);
    for (let i = kids.length - 1; i >= 0; i--) {
      const src = kids[i] as number;
      if ((movableCount[src] as number) === 0) continue;
      const from = pickSource(src);
      const task = (movable[from] as PlacedTask[])[(movable[from] as PlacedTask[]).length - 1] as PlacedTask;
      for (const dst of kids) {
        if ((counts[dst] as number) > (counts[src] as number) - 2) break;
        const to = pickTarget(dst, task, Number.MAX_SAFE_INTEGER);
        if (to >= 0) {
          apply(from, to);
          return true;
        }
      }
    }
    return false;
  };

  // Top-down: even out the first preference level, then within each group the next one, and so
  // on; moves inside a group never change the group's total, so upper levels stay balanced.
  const balance = (b: number): void => {
    while (moves.length < maxMoves && moveOnce(b)) {}
    for (const k of tree.children[b] as number[]) balance(k);
  };
  if (maxMoves > 0 && branchCount > 0) balance(0);
  return moves;
}
