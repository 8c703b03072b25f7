import { type Random, ShoalError, seededRandom } from "@shoal/base";
import type { NodeAttribute } from "./attributes.js";
import { ClusterState, invalidResources, resourcesValid } from "./cluster-state.js";
import { type CompiledConstraint, compileConstraints } from "./constraints.js";
import { explain, rejectionsFromCounts } from "./explain.js";
import { GroupFilters, StaticFilterCache } from "./filters.js";
import { placeReplicas, RankScratch } from "./place-replicas.js";
import { buildTreeShape, type TreeShape } from "./preference-tree.js";
import { parseSpreadDescriptor, spreadValueIds } from "./preferences.js";
import type {
  PendingGroup,
  PendingTask,
  PlacementStrategy,
  ScheduleInput,
  ScheduleResult,
  SchedulerAssignment,
  Unplaced,
} from "./types.js";

export interface ScheduleOptions {
  /** "spread" (default) or "binpack"; a cluster-wide setting. */
  strategy?: PlacementStrategy | undefined;
  /** A Random, or a numeric seed for one: ties between equal nodes break by it. */
  random: Random | number;
}

/**
 * Places pending tasks on nodes. Pure: the same input and seed give the same result. Groups are
 * placed in input order; tasks that do not fit stay unplaced with Swarm's explanation.
 * Throws ShoalError SCHEDULER_INVALID_INPUT for a negative or non-finite capacity or reservation.
 */
export function schedule(input: ScheduleInput, options: ScheduleOptions): ScheduleResult {
  const random = typeof options.random === "number" ? seededRandom(options.random) : options.random;
  const strategy = options.strategy ?? "spread";
  const pendingServices = new Set(input.pending.map((g) => g.serviceId));
  const state = new ClusterState(
    input.nodes,
    input.placedTasks,
    input.failures,
    input.nowMs,
    pendingServices,
  );
  const cache = new StaticFilterCache(state);
  const scratch = new RankScratch(state.size);
  const serviceCount = new Int32Array(state.size);
  const preferenceCache = new Map<string, Int32Array>();
  const constraintCache = new Map<string, CompiledConstraint[] | ShoalError>();
  const treeCache = new Map<string, TreeShape>();
  // Groups still to come per service: the last one need not write its counts back.
  const groupsLeft = new Map<string, number>();
  for (const g of input.pending) groupsLeft.set(g.serviceId, (groupsLeft.get(g.serviceId) ?? 0) + 1);
  const assignments: SchedulerAssignment[] = [];
  const unplaced: Unplaced[] = [];

  for (const group of input.pending) {
    const laterGroups = (groupsLeft.get(group.serviceId) as number) - 1;
    groupsLeft.set(group.serviceId, laterGroups);
    if (group.tasks.length === 0) continue;
    if (!resourcesValid(group.reservations)) {
      throw invalidResources(
        group.reservations,
        `service "${group.serviceId}" version "${group.specVersion}"`,
      );
    }
    const parsed = parseGroup(group, constraintCache, preferenceCache, state.nodes);
    if (parsed instanceof ShoalError) {
      unplaced.push({
        serviceId: group.serviceId,
        specVersion: group.specVersion,
        taskIds: group.tasks.map((t) => t.id),
        message: `invalid placement: ${parsed.message}`,
        rejections: [],
      });
      continue;
    }
    // Dense per-node counts of this service for the hot loop; written back to the sparse map after.
    const counts = state.serviceCountsOf(group.serviceId);
    for (const [n, c] of counts) serviceCount[n] = c;
    const filters = new GroupFilters(
      state,
      group,
      cache.constraintMask(parsed.constraints),
      cache.platformMask(group),
      serviceCount,
    );
    const touched: number[] = [];
    let pinned: readonly PendingTask[] = [];
    let free: readonly PendingTask[] = group.tasks;
    if (group.tasks.some((t) => t.nodeId !== undefined)) {
      pinned = group.tasks.filter((t) => t.nodeId !== undefined);
      free = group.tasks.filter((t) => t.nodeId === undefined);
    }

    for (const t of pinned) {
      const n = state.indexById.get(t.nodeId as string);
      const reason = n === undefined ? "not-ready" : filters.firstRejection(n);
      if (n !== undefined && reason === undefined) {
        filters.assign(n);
        touched.push(n);
        assignments.push({ taskId: t.id, nodeId: t.nodeId as string, serviceId: group.serviceId });
        continue;
      }
      const rejections = [{ reason: reason ?? "not-ready", nodes: 1 }] as const;
      unplaced.push({
        serviceId: group.serviceId,
        specVersion: group.specVersion,
        taskIds: [t.id],
        message: explain(rejections, 1, filters.maxPerNode),
        rejections: [...rejections],
      });
    }

    let placed: Int32Array = NO_NODES;
    if (free.length > 0) {
      placed = placeReplicas({
        filters,
        count: free.length,
        strategy,
        random,
        tree: treeShape(treeCache, group, parsed, filters),
        failures: state.failuresOf(group.serviceId, group.specVersion),
        scratch,
      });
      const nodes = state.nodes;
      for (let i = 0; i < placed.length; i++) {
        const n = placed[i] as number;
        assignments.push({
          taskId: (free[i] as PendingTask).id,
          nodeId: (nodes[n] as { id: string }).id,
          serviceId: group.serviceId,
        });
      }
      if (placed.length < free.length) {
        const rejections = rejectionsFromCounts(filters.countRejections(allNodes(state.size)));
        unplaced.push({
          serviceId: group.serviceId,
          specVersion: group.specVersion,
          taskIds: free.slice(placed.length).map((t) => t.id),
          message: explain(rejections, state.size, filters.maxPerNode),
          rejections,
        });
      }
    }

    // Write the new counts back for the service's later groups (once per node: -1 marks a node
    // already written), then clear the dense copy for the next group.
    if (laterGroups > 0) {
      const writeBack = (n: number) => {
        const c = serviceCount[n] as number;
        if (c < 0) return;
        state.addServiceCount(group.serviceId, n, c - (counts.get(n) ?? 0));
        serviceCount[n] = -1;
      };
      for (const n of touched) writeBack(n);
      for (const n of placed) writeBack(n);
    }
    for (const n of counts.keys()) serviceCount[n] = 0;
    for (const n of touched) serviceCount[n] = 0;
    for (const n of placed) serviceCount[n] = 0;
  }
  return { assignments, unplaced };
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
