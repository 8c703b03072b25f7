import { type Random, ShoalError, seededRandom } from "@shoal/base";
import type { NodeAttribute } from "./attributes.js";
import { ClusterState, invalidResources, resourcesValid } from "./cluster-state.js";
import { type CompiledConstraint, compileConstraints } from "./constraints.js";
import { explain, rejectionsFromCounts } from "./explain.js";
import { GroupFilters, StaticFilterCache } from "./filters.js";
import { placeReplicas, RankScratch } from "./place-replicas.js";
import { buildTreeShape, type TreeShape } from "./preference-tree.js";
import { parseSpreadDescriptor, spreadValueIds } from "./preferences.js";
import {
  FilterReason,
  type PendingGroup,
  type PendingTask,
  type PlacementStrategy,
  type ScheduleInput,
  type ScheduleResult,
  type SchedulerAssignment,
  type Unplaced,
} from "./types.js";

export interface ScheduleOptions {
  /** "spread" (default) or "binpack"; a cluster-wide setting. */
  strategy?: PlacementStrategy | undefined;
  /** A Random, or a numeric seed for one: ties between equal nodes break by it. */
  random: Random | number;
}

/** A default for ScheduleOptions.strategy: Swarm's spread. */
export const DEFAULT_PLACEMENT_STRATEGY: PlacementStrategy = "spread";

/**
 * Places pending tasks on nodes. Pure: the same input and seed give the same result. Groups are
 * placed in input order; tasks that do not fit stay unplaced with Swarm's explanation.
 * Throws ShoalError SCHEDULER_INVALID_INPUT for a negative or non-finite capacity or reservation.
 */
export function schedule(input: ScheduleInput, options: ScheduleOptions): ScheduleResult {
  const run = new ScheduleRun(input, options);
  for (const group of input.pending) run.placeGroup(group);
  return { assignments: run.assignments, unplaced: run.unplaced };
}

/** One schedule() call: the cluster state and the caches every group of the call shares. */
class ScheduleRun {
  readonly assignments: SchedulerAssignment[] = [];
  readonly unplaced: Unplaced[] = [];
  private readonly random: Random;
  private readonly strategy: PlacementStrategy;
  private readonly state: ClusterState;
  private readonly cache: StaticFilterCache;
  private readonly scratch: RankScratch;
  /** Dense per-node counts of the current group's service; all zero between groups. */
  private readonly serviceCount: Int32Array;
  private readonly preferenceCache = new Map<string, Int32Array>();
  private readonly constraintCache = new Map<string, CompiledConstraint[] | ShoalError>();
  private readonly treeCache = new Map<string, TreeShape>();
  /** Groups still to come per service: the last one need not write its counts back. */
  private readonly groupsLeft = new Map<string, number>();

  constructor(input: ScheduleInput, options: ScheduleOptions) {
    this.random = typeof options.random === "number" ? seededRandom(options.random) : options.random;
    this.strategy = options.strategy ?? DEFAULT_PLACEMENT_STRATEGY;
    const pendingServices = new Set(input.pending.map((g) => g.serviceId));
    this.state = new ClusterState(
      input.nodes,
      input.placedTasks,
      input.failures,
      input.nowMs,
      pendingServices,
    );
    this.cache = new StaticFilterCache(this.state);
    this.scratch = new RankScratch(this.state.size);
    this.serviceCount = new Int32Array(this.state.size);
    for (const g of input.pending)
      this.groupsLeft.set(g.serviceId, (this.groupsLeft.get(g.serviceId) ?? 0) + 1);
  }

  placeGroup(group: PendingGroup): void {
    const laterGroups = (this.groupsLeft.get(group.serviceId) ?? 1) - 1;
    this.groupsLeft.set(group.serviceId, laterGroups);
    if (group.tasks.length === 0) return;
    if (!resourcesValid(group.reservations)) {
      throw invalidResources(
        group.reservations,
        `service "${group.serviceId}" version "${group.specVersion}"`,
      );
    }
    const parsed = parseGroup(group, this.constraintCache, this.preferenceCache, this.state.nodes);
    if (parsed instanceof ShoalError) {
      this.unplace(group, group.tasks, `invalid placement: ${parsed.message}`, []);
      return;
    }
    // Dense per-node counts of this service for the hot loop; written back to the sparse map after.
    const counts = this.state.serviceCountsOf(group.serviceId);
    for (const [n, c] of counts) this.serviceCount[n] = c;
    const filters = new GroupFilters(
      this.state,
      group,
      this.cache.constraintMask(parsed.constraints),
      this.cache.platformMask(group.platforms),
      this.serviceCount,
    );
    const pinned = group.tasks.filter((t) => t.nodeId !== undefined);
    const free = pinned.length === 0 ? group.tasks : group.tasks.filter((t) => t.nodeId === undefined);
    const touched = this.placePinned(filters, pinned);
    const placed = free.length > 0 ? this.placeFree(filters, parsed, free) : NO_NODES;
    if (laterGroups > 0) this.writeBackCounts(group.serviceId, counts, touched, placed);
    for (const n of counts.keys()) this.serviceCount[n] = 0;
    for (const n of touched) this.serviceCount[n] = 0;
    for (const n of placed) this.serviceCount[n] = 0;
  }

  /** Global-service tasks: their node is only checked. Returns the nodes that took one. */
  private placePinned(filters: GroupFilters, tasks: readonly PendingTask[]): number[] {
    const touched: number[] = [];
    for (const t of tasks) {
      const nodeId = t.nodeId as string;
      const n = this.state.indexById.get(nodeId);
      const reason = n === undefined ? FilterReason.NotReady : filters.firstRejection(n);
      if (n !== undefined && reason === undefined) {
        filters.assign(n);
        touched.push(n);
        this.assignments.push({ taskId: t.id, nodeId, serviceId: filters.group.serviceId });
        continue;
      }
      const rejections = [{ reason: reason ?? FilterReason.NotReady, nodes: 1 }];
      this.unplace(filters.group, [t], explain(rejections, 1, filters.maxPerNode), rejections);
    }
    return touched;
  }

  /** Replicated tasks: ranked placement over the preference tree. Returns the chosen nodes. */
  private placeFree(filters: GroupFilters, parsed: ParsedGroup, tasks: readonly PendingTask[]): Int32Array {
    const { group } = filters;
    const state = this.state;
    const placed = placeReplicas({
      filters,
      count: tasks.length,
      strategy: this.strategy,
      random: this.random,
      tree: treeShape(this.treeCache, group, parsed, filters),
      failures: state.failuresOf(group.serviceId, group.specVersion),
      scratch: this.scratch,
    });
    for (let i = 0; i < placed.length; i++) {
      this.assignments.push({
        taskId: tasks[i].id,
        nodeId: state.nodes[placed[i]].id,
        serviceId: group.serviceId,
      });
    }
    if (placed.length < tasks.length) {
      const rejections = rejectionsFromCounts(filters.countRejections(allNodes(state.size)));
      this.unplace(
        group,
        tasks.slice(placed.length),
        explain(rejections, state.size, filters.maxPerNode),
        rejections,
      );
    }
    return placed;
  }

  /**
   * Writes the group's new counts back for the service's later groups, once per node (-1 marks a
   * node already written; the caller clears the dense copy afterwards).
   */
  private writeBackCounts(
    serviceId: string,
    before: ReadonlyMap<number, number>,
    touched: readonly number[],
    placed: Int32Array,
  ): void {
    const writeBack = (n: number) => {
      const c = this.serviceCount[n];
      if (c < 0) return;
      this.state.addServiceCount(serviceId, n, c - (before.get(n) ?? 0));
      this.serviceCount[n] = -1;
    };
    for (const n of touched) writeBack(n);
    for (const n of placed) writeBack(n);
  }

  private unplace(
    group: PendingGroup,
    tasks: readonly PendingTask[],
    message: string,
    rejections: Unplaced["rejections"],
  ): void {
    this.unplaced.push({
      serviceId: group.serviceId,
      specVersion: group.specVersion,
      taskIds: tasks.map((t) => t.id),
      message,
      rejections,
    });
  }
}

/** The tree shape is shared by every group with the same constraints, platforms and preferences. */
function treeShape(
  cache: Map<string, TreeShape>,
  group: PendingGroup,
  parsed: ParsedGroup,
  filters: GroupFilters,
): TreeShape {
  const key = [
    group.constraints.join("\n"),
    group.platforms.map((p) => `${p.os}/${p.architecture}`).join("\n"),
    group.preferences.map((p) => p.spreadDescriptor).join("\n"),
  ].join("\u0001");
  let shape = cache.get(key);
  if (shape === undefined) {
    shape = buildTreeShape(filters.state.size, (n) => filters.passesStatic(n), parsed.preferenceValues);
    cache.set(key, shape);
  }
  return shape;
}

const NO_NODES = new Int32Array(0);

function* allNodes(size: number): Iterable<number> {
  for (let n = 0; n < size; n++) yield n;
}

interface ParsedGroup {
  constraints: CompiledConstraint[];
  preferenceValues: Int32Array[];
}

function parseGroup(
  group: PendingGroup,
  constraintCache: Map<string, CompiledConstraint[] | ShoalError>,
  preferenceCache: Map<string, Int32Array>,
  nodes: ScheduleInput["nodes"],
): ParsedGroup | ShoalError {
  const key = group.constraints.join("\n");
  let constraints = constraintCache.get(key);
  if (constraints === undefined) {
    try {
      constraints = compileConstraints(group.constraints);
    } catch (err) {
      if (!ShoalError.is(err)) throw err;
      constraints = err;
    }
    constraintCache.set(key, constraints);
  }
  if (constraints instanceof ShoalError) return constraints;
  const preferenceValues: Int32Array[] = [];
  for (const p of group.preferences) {
    let values = preferenceCache.get(p.spreadDescriptor);
    if (values === undefined) {
      let attribute: NodeAttribute;
      try {
        attribute = parseSpreadDescriptor(p.spreadDescriptor);
      } catch (err) {
        if (!ShoalError.is(err)) throw err;
        return err;
      }
      values = spreadValueIds(nodes, attribute);
      preferenceCache.set(p.spreadDescriptor, values);
    }
    preferenceValues.push(values);
  }
  return { constraints, preferenceValues };
}
