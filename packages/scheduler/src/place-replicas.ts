import type { Random } from "@shoal/base";
import type { GroupFilters } from "./filters.js";
import { IndexHeap, ObjectHeap } from "./heap.js";
import type { PlacementStrategy } from "./types.js";

/** Per-call scratch arrays, one slot per node, reused by every group. */
export class RankScratch {
  readonly score: Float64Array;
  readonly tieBreak: Float64Array;
  readonly penalty: Float64Array;
  constructor(size: number) {
    this.score = new Float64Array(size);
    this.tieBreak = new Float64Array(size);
    this.penalty = new Float64Array(size);
  }
}

/**
 * A node of the placement-preference tree. `count` is the service's active tasks on the subtree's
 * eligible nodes; placing always descends into the child with the lowest count, so label groups
 * even out (and existing imbalance is filled first), as Swarm's spread over preferences does.
 */
interface Branch {
  count: number;
  tieBreak: number;
  /** Children by preference value id + 1 (0 = label missing), while building. */
  byValue: (Branch | undefined)[] | undefined;
  children: ObjectHeap<Branch> | undefined;
  members: number[] | undefined;
  leaf: IndexHeap | undefined;
}

function newBranch(tieBreak: number, isLeaf: boolean): Branch {
  return {
    count: 0,
    tieBreak,
    byValue: isLeaf ? undefined : [],
    children: undefined,
    members: isLeaf ? [] : undefined,
    leaf: undefined,
  };
}

const branchLess = (a: Branch, b: Branch): boolean =>
  a.count !== b.count ? a.count < b.count : a.tieBreak < b.tieBreak;

export interface PlaceReplicasArgs {
  filters: GroupFilters;
  count: number;
  strategy: PlacementStrategy;
  random: Random;
  /** One array per preference level: the node's value id for that level (-1 = label missing). */
  preferenceValues: readonly Int32Array[];
  failures: ReadonlyMap<number, number>;
  scratch: RankScratch;
}

/**
 * Places up to `count` tasks of one group and returns the chosen node per task, in order. Static
 * filters are evaluated once per node; resources, ports and max-per-node are re-checked on the
 * best node each time a task lands there.
 */
export function placeReplicas(args: PlaceReplicasArgs): Int32Array {
  const { filters: f, count, random, preferenceValues, failures, scratch } = args;
  const state = f.state;
  const { score, tieBreak, penalty } = scratch;
  const { usedCpu, usedMemory, totalCpu, totalMemory, taskCount } = state;
  const serviceCount = f.serviceCount;
  const reqCpu = f.reqCpu;
  const reqMemory = f.reqMemory;

  // Resource-aware score after placing one more task: the sum of CPU and memory utilization.
  const scoreOf = (n: number): number => {
    const tc = totalCpu[n] as number;
    const tm = totalMemory[n] as number;
    return (
      (tc > 0 ? ((usedCpu[n] as number) + reqCpu) / tc : 0) +
      (tm > 0 ? ((usedMemory[n] as number) + reqMemory) / tm : 0)
    );
  };

  // Swarm's order (recent failures last, fewest tasks of the service, fewest tasks overall), then
  // least-allocated; a seeded random key breaks the remaining ties.
  const spreadLess = (a: number, b: number): boolean => {
    const pa = penalty[a] as number;
    const pb = penalty[b] as number;
    if (pa !== pb) return pa < pb;
    const sa = serviceCount[a] as number;
    const sb = serviceCount[b] as number;
    if (sa !== sb) return sa < sb;
    const ta = taskCount[a] as number;
    const tb = taskCount[b] as number;
    if (ta !== tb) return ta < tb;
    const ra = score[a] as number;
    const rb = score[b] as number;
    if (ra !== rb) return ra < rb;
    return (tieBreak[a] as number) < (tieBreak[b] as number);
  };
  // Binpack: most-allocated first so that whole nodes stay free; failures still go last.
  const binpackLess = (a: number, b: number): boolean => {
    const pa = penalty[a] as number;
    const pb = penalty[b] as number;
    if (pa !== pb) return pa < pb;
    const ra = score[a] as number;
    const rb = score[b] as number;
    if (ra !== rb) return ra > rb;
    const sa = serviceCount[a] as number;
    const sb = serviceCount[b] as number;
    if (sa !== sb) return sa < sb;
    return (tieBreak[a] as number) < (tieBreak[b] as number);
  };
  const less = args.strategy === "binpack" ? binpackLess : spreadLess;

  for (const [n, failed] of failures) penalty[n] = f.failurePenalty(failures, n) > 0 ? failed : 0;

  const levels = preferenceValues.length;
  const root = newBranch(0, levels === 0);
  const size = state.size;
  for (let n = 0; n < size; n++) {
    if (!f.passesStatic(n)) continue;
    const fits = f.fitsOneMore(n);
    if (fits) {
      tieBreak[n] = random.next();
      score[n] = scoreOf(n);
    }
    const tasksHere = serviceCount[n] as number;
    let branch = root;
    branch.count += tasksHere;
    for (let level = 0; level < levels; level++) {
      const slot = ((preferenceValues[level] as Int32Array)[n] as number) + 1;
      const byValue = branch.byValue as (Branch | undefined)[];
      let child = byValue[slot];
      if (child === undefined) {
        child = newBranch(random.next(), level === levels - 1);
        byValue[slot] = child;
      }
      branch = child;
      branch.count += tasksHere;
    }
    if (fits) (branch.members as number[]).push(n);
  }
  finishBranch(root, less);

  const placed = new Int32Array(count);
  let done = 0;
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
        score[n] = scoreOf(n);
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
  while (done < count) {
    const n = placeOne(root);
    if (n < 0) break;
    placed[done++] = n;
  }

  for (const n of failures.keys()) penalty[n] = 0;
  return done === count ? placed : placed.subarray(0, done);
}

function finishBranch(branch: Branch, less: (a: number, b: number) => boolean): void {
  if (branch.members !== undefined) {
    const heap = new IndexHeap(branch.members.length, less);
    for (const n of branch.members) heap.push(n);
    heap.heapify();
    branch.leaf = heap;
    branch.members = undefined;
    return;
  }
  const children = new ObjectHeap<Branch>(branchLess);
  for (const child of branch.byValue as (Branch | undefined)[]) {
    if (child === undefined) continue;
    finishBranch(child, less);
    children.push(child);
  }
  children.heapify();
  branch.children = children;
  branch.byValue = undefined;
}
