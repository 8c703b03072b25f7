// What a node must hold (pure): its tasks from ASSIGNED on, and exactly the secrets and configs
// that its tasks still running or to be run reference — nothing of other nodes. `diffAssignments`
// turns two such sets into the changes an incremental Assignments message carries.
import {
  type Assignment,
  AssignmentAction,
  type AssignmentChange,
  type Config,
  isTaskTerminal,
  NodeOverlay,
  type Secret,
  type Task,
  TaskState,
} from "@shoal/proto";
import type { ReadTx } from "@shoal/store";
import { OverlayCatalog } from "./overlay-assignment.js";

export interface NodeAssignments {
  tasks: Map<string, Task>;
  secrets: Map<string, Secret>;
  configs: Map<string, Config>;
  /** The node's overlay state; undefined when it needs none. */
  overlay?: NodeOverlay | undefined;
  /** Equal for equal overlay states (`OverlayCatalog`): compared instead of the encodings. */
  overlayKey?: string | undefined;
}

function withOverlay(
  tx: ReadTx,
  nodeId: string,
  catalog: OverlayCatalog,
): Pick<NodeAssignments, "overlay" | "overlayKey"> {
  const keyed = catalog.forNode(tx, nodeId);
  return { overlay: keyed?.overlay, overlayKey: keyed?.key };
}

/**
 * The node's assignment set in one consistent view of the store. `overlays` is the view's
 * overlay catalog, shared by the nodes read at the same store index.
 */
export function assignmentsOf(
  tx: ReadTx,
  nodeId: string,
  overlays = new OverlayCatalog(tx),
): NodeAssignments {
  const tasks = new Map<string, Task>();
  for (const task of tx.tasks.find("nodeId", nodeId)) {
    if ((task.status?.state ?? TaskState.NEW) < TaskState.ASSIGNED) continue;
    tasks.set(task.id, task);
  }
  return { tasks, ...referencedBy(tx, tasks.values()), ...withOverlay(tx, nodeId, overlays) };
}

/**
 * The node's set once the tasks `changedTaskIds` changed, and the changes an increment
 * carries, from the set `held` before: only those tasks are read and compared (a node holds a
 * hundred tasks, and every status report changes one; copying and diffing them all on each
 * report was ~4 s of the leader's CPU in a 10,000-task run). `held.tasks` is updated in place
 * and shared by the result. The secrets and configs its tasks reference are read at their
 * current versions. The overlay state is computed again only when it may have moved:
 * `overlayDirty` (a change elsewhere that the dispatcher's overlay watch saw) or a changed task
 * on a network; otherwise the held one stays. `overlays` is the view's overlay catalog, shared
 * by the nodes read at the same store index.
 */
export function updateAssignments(
  tx: ReadTx,
  nodeId: string,
  held: NodeAssignments,
  changedTaskIds: Iterable<string>,
  overlayDirty = true,
  overlays = new OverlayCatalog(tx),
): { next: NodeAssignments; changes: AssignmentChange[] } {
  const tasks = held.tasks;
  const updated: Task[] = [];
  const removed: Task[] = [];
  let overlay = overlayDirty;
  for (const id of changedTaskIds) {
    const task = tx.tasks.get(id);
    const old = tasks.get(id);
    if ((task?.networks.length ?? 0) > 0 || (old?.networks.length ?? 0) > 0) overlay = true;
    if (
      task === undefined ||
      task.nodeId !== nodeId ||
      (task.status?.state ?? TaskState.NEW) < TaskState.ASSIGNED
    ) {
      if (old !== undefined) {
        removed.push(old);
        tasks.delete(id);
      }
    } else {
      if (old === undefined || versionOf(old) !== versionOf(task)) updated.push(task);
      tasks.set(id, task);
    }
  }
  const next: NodeAssignments = {
    tasks,
    ...referencedBy(tx, tasks.values()),
    ...(overlay ? withOverlay(tx, nodeId, overlays) : { overlay: held.overlay, overlayKey: held.overlayKey }),
  };
  return { next, changes: diffAssignments(held, next, { updated, removed }) };
}

function referencedBy(tx: ReadTx, tasks: Iterable<Task>): Pick<NodeAssignments, "secrets" | "configs"> {
  const secrets = new Map<string, Secret>();
  const configs = new Map<string, Config>();
  // A cluster without secrets and configs (most of them): nothing to look for in the tasks.
  if (tx.secrets.count() === 0 && tx.configs.count() === 0) return { secrets, configs };
  for (const task of tasks) {
    // A task that ended needs no secrets any more: they leave the node with it.
    if (isTaskTerminal(task.status?.state ?? TaskState.NEW)) continue;
    const container = task.spec?.container;
    for (const ref of container?.secrets ?? []) {
      const secret = tx.secrets.get(ref.secretId);
      if (secret !== undefined) secrets.set(secret.id, secret);
    }
    for (const ref of container?.configs ?? []) {
      const config = tx.configs.get(ref.configId);
      if (config !== undefined) configs.set(config.id, config);
    }
  }
  return { secrets, configs };
}

/** Every item of `set` as an update: the content of a COMPLETE message. */
export function completeChanges(set: NodeAssignments): AssignmentChange[] {
  return diffAssignments(emptyAssignments(), set);
}

export function emptyAssignments(): NodeAssignments {
  return { tasks: new Map(), secrets: new Map(), configs: new Map() };
}

const versionOf = (o: { meta?: { version: number } | undefined }) => o.meta?.version ?? 0;

/**
 * Updates for new or changed items, removals for items that left; secrets, configs and the
 * overlay first. `taskChanges`: the tasks' part already known (`updateAssignments`), instead of
 * comparing every task of both sets.
 */
export function diffAssignments(
  before: NodeAssignments,
  after: NodeAssignments,
  taskChanges?: { updated: readonly Task[]; removed: readonly Task[] },
): AssignmentChange[] {
  const changes: AssignmentChange[] = [];
  const update = (item: Assignment) => changes.push({ action: AssignmentAction.UPDATE, assignment: item });
  const remove = (item: Assignment) => changes.push({ action: AssignmentAction.REMOVE, assignment: item });
  // Secrets and configs before the tasks that need them; removals of tasks before their secrets.
  for (const [id, s] of after.secrets) {
    const old = before.secrets.get(id);
    if (old === undefined || versionOf(old) !== versionOf(s)) update({ item: { $case: "secret", value: s } });
  }
  for (const [id, c] of after.configs) {
    const old = before.configs.get(id);
    if (old === undefined || versionOf(old) !== versionOf(c)) update({ item: { $case: "config", value: c } });
  }
  // The overlay before the tasks it serves: a new task's container is made with its networks
  // (and its resolver) known.
  if (after.overlay !== undefined && !sameOverlay(before, after))
    update({ item: { $case: "overlay", value: after.overlay } });
  else if (after.overlay === undefined && before.overlay !== undefined)
    remove({ item: { $case: "overlay", value: before.overlay } });
  if (taskChanges !== undefined) {
    for (const t of taskChanges.updated) update({ item: { $case: "task", value: t } });
    for (const t of taskChanges.removed) remove({ item: { $case: "task", value: t } });
  } else {
    for (const [id, t] of after.tasks) {
      const old = before.tasks.get(id);
      if (old === undefined || versionOf(old) !== versionOf(t)) update({ item: { $case: "task", value: t } });
    }
    for (const [id, t] of before.tasks)
      if (!after.tasks.has(id)) remove({ item: { $case: "task", value: t } });
  }
  for (const [id, s] of before.secrets) {
    if (!after.secrets.has(id)) remove({ item: { $case: "secret", value: s } });
  }
  for (const [id, c] of before.configs) {
    if (!after.configs.has(id)) remove({ item: { $case: "config", value: c } });
  }
  return changes;
}

function sameOverlay(before: NodeAssignments, after: NodeAssignments): boolean {
  const a = before.overlay;
  const b = after.overlay;
  if (a === undefined || b === undefined) return a === b;
  if (before.overlayKey !== undefined && after.overlayKey !== undefined)
    return before.overlayKey === after.overlayKey;
  return Buffer.from(NodeOverlay.encode(a).finish()).equals(NodeOverlay.encode(b).finish());
}
