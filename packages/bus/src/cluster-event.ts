import {
  type Node,
  NodeState,
  nodeAvailabilityToJSON,
  nodeStateToJSON,
  type Service,
  type Task,
  taskStateToJSON,
  updateStateToJSON,
} from "@shoal/proto";
import type { ChangeEvent } from "@shoal/store";

export const EventType = { Service: "service", Task: "task", Node: "node", Leader: "leader" } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** What `shoal events` shows: one user-visible change, like a docker event. */
export interface ClusterEvent {
  type: EventType;
  /** create, update, remove, state, up, down, availability, update-progress, elected */
  action: string;
  /** The object's id (the leader's node id for a leader event). */
  id: string;
  timeMs: number;
  /** Dedup id: the same change published by two managers is stored once. */
  key: string;
  serviceId?: string;
  nodeId?: string;
  attributes: Record<string, string>;
}

/**
 * The events one store change means to a user (pure). A task counts only when its observed state
 * moved; a node when it came up or went down or its availability changed; a service on create,
 * spec update, remove and update progress.
 */
export function eventsOfChange(change: ChangeEvent, timeMs: number): ClusterEvent[] {
  const base = (
    type: EventType,
    action: string,
    extra: Partial<ClusterEvent> & { attributes: Record<string, string> },
  ) => ({
    type,
    action,
    id: change.id,
    timeMs,
    key: `${change.index}:${change.objectKind}:${change.id}:${action}`,
    ...extra,
  });
  switch (change.objectKind) {
    case "service":
      return serviceEvents(change.object, change.old, change.action).map((e) =>
        base(EventType.Service, e.action, { serviceId: change.id, attributes: e.attributes }),
      );
    case "task": {
      const t = (change.object ?? change.old) as Task;
      const attrs = { name: t.name, service: t.serviceId, node: t.nodeId, slot: String(t.slot) };
      const common = { serviceId: t.serviceId, nodeId: t.nodeId };
      if (change.action === "delete")
        return [base(EventType.Task, "remove", { ...common, attributes: attrs })];
      const now = change.object?.status?.state;
      const before = change.old?.status?.state;
      if (now === undefined || now === before) return [];
      return [
        base(EventType.Task, change.action === "create" ? "create" : "state", {
          ...common,
          attributes: {
            ...attrs,
            state: enumName(taskStateToJSON(now)),
            ...(before !== undefined ? { from: enumName(taskStateToJSON(before)) } : {}),
            ...(change.object?.status?.message ? { message: change.object.status.message } : {}),
          },
        }),
      ];
    }
    case "node":
      return nodeEvents(change.object, change.old, change.action).map((e) =>
        base(EventType.Node, e.action, { nodeId: change.id, attributes: e.attributes }),
      );
    default:
      return [];
  }
}

type Partial2 = { action: string; attributes: Record<string, string> };

function serviceEvents(now: Service | undefined, old: Service | undefined, action: string): Partial2[] {
  const name = (now ?? old)?.spec?.name ?? "";
  if (action === "create") return [{ action: "create", attributes: { name } }];
  if (action === "delete") return [{ action: "remove", attributes: { name } }];
  const out: Partial2[] = [];
  if (now?.specVersion !== old?.specVersion) out.push({ action: "update", attributes: { name } });
  const u = now?.updateStatus;
  if (u !== undefined && u.state !== old?.updateStatus?.state)
    out.push({
      action: "update-progress",
      attributes: {
        name,
        state: enumName(updateStateToJSON(u.state)),
        ...(u.message ? { message: u.message } : {}),
      },
    });
  return out;
}

function nodeEvents(now: Node | undefined, old: Node | undefined, action: string): Partial2[] {
  const name = (now ?? old)?.description?.hostname ?? (now ?? old)?.spec?.name ?? "";
  if (action === "create") return [{ action: "create", attributes: { name } }];
  if (action === "delete") return [{ action: "remove", attributes: { name } }];
  const out: Partial2[] = [];
  const s = now?.status?.state;
  if (s !== undefined && s !== old?.status?.state) {
    const up = s === NodeState.READY;
    const down = s === NodeState.DOWN || s === NodeState.DISCONNECTED;
    if (up || down)
      out.push({ action: up ? "up" : "down", attributes: { name, state: enumName(nodeStateToJSON(s)) } });
  }
  const a = now?.spec?.availability;
  if (a !== undefined && a !== old?.spec?.availability)
    out.push({
      action: "availability",
      attributes: { name, availability: enumName(nodeAvailabilityToJSON(a)) },
    });
  return out;
}

/** A new leader (the daemon calls this from Raft's leader change). */
export function leaderEvent(leaderNodeId: string, term: number, timeMs: number): ClusterEvent {
  return {
    type: EventType.Leader,
    action: "elected",
    id: leaderNodeId,
    timeMs,
    key: `leader:${term}`,
    nodeId: leaderNodeId,
    attributes: { term: String(term) },
  };
}

/** `TASK_STATE_RUNNING` → `running`: the enum's JSON name without its type prefix. */
function enumName(json: string): string {
  return json.replace(/^(TASK_STATE|NODE_STATE|NODE_AVAILABILITY|UPDATE_STATE)_/, "").toLowerCase();
}
