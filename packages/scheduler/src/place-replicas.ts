import type { Random } from "@shoal/base";
import type { GroupFilters } from "./filters.js";
import { ObjectHeap, RankHeap, type RankKeys } from "./heap.js";
import type { TreeShape } from "./preference-tree.js";
import { TieBreakStream } from "./tie-break.js";
import type { PlacementStrategy } from "./types.js";

/**
 * Per-call rank keys, one slot per node, reused by every group; `tieBreak` keeps each node's
 * random draw so that the secondary key can be rebuilt after a task lands.
 */
export class RankScratch implements RankKeys {
  readonly primary: Float64Array;
  readonly secondary: Float64Array;
  readonly tieBreak: Float64Array;
  constructor(size: number) {
    this.primary = new Float64Array(size);
    this.secondary = new Float64Array(size);
    this.tieBreak = new Float64Array(size);
  }
}

// Integer keys packed into one exact float: counts stay below 2^20 (a million tasks on one node).
const COUNT_LIMIT = 2 ** 20 - 1;
const SERVICE_SHIFT = 2 ** 20;
const PENALTY_SHIFT = 2 ** 40;

// The secondary key: the allocation score (0..2 for nodes that fit) rounded down to 2^-24, with
// the tie-break below that quantum — so scores closer than ~6e-8 count as equal and the seeded
// random key decides. Binpack also fits "fewest tasks of the service" (10 bits) between the two.
const SCORE_QUANTUM = 2 ** -24;
const SCORE_SCALE = 2 ** 24;
const BINPACK_SERVICE_LIMIT = 1023;
const BINPACK_TIE_QUANTUM = 2 ** -34;

function spreadSecondary(score: number, tie: number): number {
  return Math.floor(score * SCORE_SCALE) * SCORE_QUANTUM + tie * SCORE_QUANTUM;
}

function binpackSecondary(score: number, serviceTasks: number, tie: number): number {
  const tasks = Math.min(serviceTasks, BINPACK_SERVICE_LIMIT);
  return -Math.floor(score * SCORE_SCALE) * SCORE_QUANTUM + (tasks + tie) * BINPACK_TIE_QUANTUM;
}

/**
 * A branch of the placement-preference tree during one group. `count` is the service's active
 * tasks on the branch's eligible nodes; placing always descends into the child with the lowest
 * count, so label groups even out (existing imbalance is filled first), as Swarm's spread over
 * preferences does, one task at a time in O(depth · log width).
 */
interface Branch {
  count: number;
  tieBreak: number;
  children: ObjectHeap<Branch> | undefined;
  leaf: RankHeap | undefined;
}

const branchLess = (a: Branch, b: Branch): boolean =>
  a.count !== b.count ? a.count < b.count : a.tieBreak < b.tieBreak;

export interface PlaceReplicasArgs {
  filters: GroupFilters;
  count: number;
  strategy: PlacementStrategy;
  random: Random;
  tree: TreeShape;
  failures: ReadonlyMap<number, number>;
  scratch: RankScratch;
}

/**
 * Places up to `count` tasks of one group and returns the chosen node per task, in order. Static
 * filters were evaluated once per node (the tree shape); resources, ports and max-per-node are
 * re-checked on the best node each time a task lands there.
 */
export function placeReplicas(args: PlaceReplicasArgs): Int32Array {
  const { filters: f, count, random, tree, failures, scratch } = args;
  const state = f.state;
  const { primary, secondary, tieBreak } = scratch;
  const { usedCpu, usedMemory, totalCpu, totalMemory, taskCount } = state;
  const serviceCount = f.serviceCount;
  const reqCpu = f.reqCpu;
  const reqMemory = f.reqMemory;
  const binpack = args.strategy === "binpack";
  const maxPerNode = f.maxPerNode;
  const portKeys = f.portKeys;
  const ties = new TieBreakStream(random);

  // Resource-aware score after placing one more task: the sum of CPU and memory utilization.
  const scoreOf = (n: number): number => {
    const tc = totalCpu[n] as number;
    const tm = totalMemory[n] as number;
    return (
      (tc > 0 ? ((usedCpu[n] as number) + reqCpu) / tc : 0) +
      (tm > 0 ? ((usedMemory[n] as number) + reqMemory) / tm : 0)
    );
  };
  const penaltyOf = (n: number): number => Math.min(f.failurePenalty(failures, n), COUNT_LIMIT);
  const hasFailures = failures.size > 0;
  const penaltyOfFast = hasFailures ? penaltyOf : () => 0;
  // Rank keys (primary, then secondary), smaller first:
  // spread: Swarm's order (recent failures last, fewest tasks of the service, fewest tasks
  // overall) packed into primary; least-allocated, then the seeded random key, in secondary;
  // binpack: failures last in primary; most-allocated first (so whole nodes stay free), then
  // fewest tasks of the service, then the random key, in secondary.
  const rankAfterAssign = (n: number): void => {
    if (binpack) {
      secondary[n] = binpackSecondary(scoreOf(n), serviceCount[n] as number, tieBreak[n] as number);
    } else {
      primary[n] =
        penaltyOfFast(n) * PENALTY_SHIFT +
        Math.min(serviceCount[n] as number, COUNT_LIMIT) * SERVICE_SHIFT +
        Math.min(taskCount[n] as number, COUNT_LIMIT);
      secondary[n] = spreadSecondary(scoreOf(n), tieBreak[n] as number);
    }
  };

  const leafFill: LeafFill = {
    state,
    serviceCount,
    keys: scratch,
    reqCpu,
    reqMemory,
    maxPerNode,
    portKeys,
    binpack,
    ties,
    penaltyOf: failures.size > 0 ? penaltyOf : undefined,
  };

  // Branch counts: the service's tasks on each leaf's eligible nodes (whether or not they fit one
  // more), summed upwards. Children have higher indices than their parent, so walking down from
  // the last branch finishes every child before its parent.
  const branchCount = tree.parent.length;
  const counts = new Float64Array(branchCount);
  const branches: Branch[] = new Array(branchCount);
  for (let b = branchCount - 1; b >= 0; b--) {
    const branch: Branch = {
      count: 0,
      tieBreak: ties.next(),
      children: undefined,
      leaf: undefined,
    };
    branches[b] = branch;
    const nodes = tree.leafNodes[b];
    if (nodes !== undefined) {
      const heap = new RankHeap(nodes.length, scratch);
      const tasksHere = fillLeaf(nodes, heap, leafFill);
      heap.heapify();
      branch.leaf = heap;
      counts[b] = tasksHere;
    } else {
      const children = new ObjectHeap<Branch>(branchLess);
      // Children always have higher indices than their parent, so they exist already.
      for (const c of tree.children[b] as number[]) children.push(branches[c] as Branch);
      children.heapify();
      branch.children = children;
    }
    branch.count = counts[b] as number;
    const parent = tree.parent[b] as number;
    if (parent >= 0) counts[parent] = (counts[parent] as number) + (counts[b] as number);
  }

  const placeOne = (branch: Branch): number => {
    const heap = branch.leaf;
    if (heap !== undefined) {
      while (heap.size > 0) {
        const n = heap.top();
        if (!f.fitsOneMore(n)) {
          // Resources, ports and max-per-node only get stricter within a group: drop the node.
          heap.pop();
          continue;
        }
        f.assign(n);
        rankAfterAssign(n);
        heap.topChanged();
        branch.count++;
        return n;
      }
      return -1;
    }
    const children = branch.children as ObjectHeap<Branch>;
    while (children.size > 0) {
      const child = children.top();
      const n = placeOne(child);
      if (n >= 0) {
        children.topChanged();
        branch.count++;
        return n;
      }
      children.pop();
    }
    return -1;
  };

  const root = branches[0] as Branch;
  const placed = new Int32Array(count);
  let done = 0;
  while (done < count) {
    const n = placeOne(root);
    if (n < 0) break;
    placed[done++] = n;
  }
  return done === count ? placed : placed.subarray(0, done);
}

interface LeafFill {
  state: GroupFilters["state"];
  serviceCount: Int32Array;
  keys: RankScratch;
  reqCpu: number;
  reqMemory: number;
  maxPerNode: number;
  portKeys: number[];
  binpack: boolean;
  ties: TieBreakStream;
  penaltyOf: ((n: number) => number) | undefined;
}

/**
 * The hottest loop (once per eligible node per group): GroupFilters.fitsOneMore and the rank keys
 * inlined, in a top-level function so that every array is a local, not a closure slot. Pushes the
 * nodes that fit one more task and returns the service's task count over all the leaf's nodes.
 */
function fillLeaf(nodes: Int32Array, heap: RankHeap, fill: LeafFill): number {
  const { state, serviceCount, reqCpu, reqMemory, maxPerNode, portKeys, binpack, ties, penaltyOf } = fill;
  const { usedCpu, usedMemory, totalCpu, totalMemory, taskCount } = state;
  const { primary, secondary, tieBreak } = fill.keys;
  const hasPorts = portKeys.length > 0;
  let tasksHere = 0;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as number;
    const sc = serviceCount[n] as number;
    tasksHere += sc;
    const cpuAfter = (usedCpu[n] as number) + reqCpu;
    const tc = totalCpu[n] as number;
    if (cpuAfter > tc) continue;
    const memoryAfter = (usedMemory[n] as number) + reqMemory;
    const tm = totalMemory[n] as number;
    if (memoryAfter > tm) continue;
    if (maxPerNode > 0 && sc >= maxPerNode) continue;
    if (hasPorts && state.portsConflict(n, portKeys)) continue;
    const score = (tc > 0 ? cpuAfter / tc : 0) + (tm > 0 ? memoryAfter / tm : 0);
    const scClamped = Math.min(sc, COUNT_LIMIT);
    const penalty = penaltyOf === undefined ? 0 : penaltyOf(n);
    const tie = ties.next();
    tieBreak[n] = tie;
    if (binpack) {
      primary[n] = penalty;
      secondary[n] = binpackSecondary(score, sc, tie);
    } else {
      const tasks = taskCount[n] as number;
      primary[n] = penalty * PENALTY_SHIFT + scClamped * SERVICE_SHIFT + Math.min(tasks, COUNT_LIMIT);
      secondary[n] = spreadSecondary(score, tie);
    }
    heap.push(n);
  }
  return tasksHere;
}
