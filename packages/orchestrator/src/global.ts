import { type Node, NodeAvailability, NodeState, type Task } from "@shoal/proto";
import { type Plan, PlanBuilder } from "./plan.js";
import type { ServiceReconcileInput } from "./replicated.js";
import { fillGroup, type GroupScope, shutDownGroup, tendGroup } from "./slot-group.js";
import { availabilityOf, isNodeDown, nodeSatisfiesPlacement } from "./task-facts.js";
import type { ReconcileContext } from "./view.js";

/** Why the node may not keep a task of the service, or undefined when it may. */
export function whyNodeCannotKeep(node: Node | undefined, template: Task["spec"]): string | undefined {
  if (node === undefined) return "node removed";
  if (isNodeDown(node)) return `node ${node.id} is down`;
  if (availabilityOf(node) === NodeAvailability.DRAIN) return `node ${node.id} is drained`;
  if (!nodeSatisfiesPlacement(template, node)) return `node ${node.id} does not satisfy the placement`;
  return undefined;
}

/** Why the node may not get a new task (it may keep one it has), or undefined when it may. */
export function whyNodeTakesNothingNew(node: Node): string | undefined {
  if (availabilityOf(node) === NodeAvailability.PAUSE) return `node ${node.id} is paused`;
  if (node.status?.state !== NodeState.READY) return `node ${node.id} is not ready`;
  return undefined;
}

export function groupByNode(tasks: readonly Task[]): Map<string, Task[]> {
  const out = new Map<string, Task[]>();
  for (const t of tasks) {
    let list = out.get(t.nodeId);
    if (list === undefined) {
      list = [];
      out.set(t.nodeId, list);
    }
    list.push(t);
  }
  return out;
}

/**
 * One task per eligible node: a node that is ready, active and satisfies the constraints and
 * platforms gets one; a drained, down or removed node, or one that no longer matches, loses it; a
 * paused node keeps what it runs but gets nothing new (restarts included).
 */
export function reconcileGlobal(input: ServiceReconcileInput, ctx: ReconcileContext): Plan {
  const out = new PlanBuilder();
  reconcilePerNode(
    input,
    { service: input.service, nodes: input.nodes, ctx, out, isJob: false },
    input.tasks,
  );
  return out.plan;
}

/**
 * Shared by global services and global jobs (`tasks` already filtered to the job iteration; the
 * service's other tasks still hold their node until they stop).
 */
export function reconcilePerNode(
  input: ServiceReconcileInput,
  scope: GroupScope,
  tasks: readonly Task[],
): void {
  const byNode = groupByNode(tasks);
  const current = new Set(tasks.map((t) => t.id));
  const othersByNode = groupByNode(input.tasks.filter((t) => !current.has(t.id)));
  const template = input.service.spec?.taskTemplate;
  for (const [nodeId, group] of byNode) {
    if (input.nodes.has(nodeId)) continue;
    shutDownGroup(scope, group, `node ${nodeId} removed`);
  }
  for (const node of input.nodes.values()) {
    const group = byNode.get(node.id) ?? [];
    const cannotKeep = whyNodeCannotKeep(node, template);
    if (cannotKeep !== undefined) {
      shutDownGroup(scope, group, cannotKeep);
      continue;
    }
    const key = { slot: 0, nodeId: node.id, blockedReason: whyNodeTakesNothingNew(node) };
    const state = tendGroup(scope, key, group);
    if (state.live.length > 0 || state.completed || key.blockedReason !== undefined) continue;
    fillGroup(scope, key, group, `node ${node.id} is eligible`, othersByNode.get(node.id) ?? []);
  }
}
