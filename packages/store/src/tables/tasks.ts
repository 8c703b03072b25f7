import type { Task } from "@shoal/proto";
import type { TableSpec } from "../table.js";
import { distinct, labelKeys, labelValueKeys } from "./labels.js";
import { configIdsOf, networkTargetsOf, secretIdsOf } from "./references.js";

/** The `slot` index key: `<service id>/<slot>` (replicated), `<service id>/<node id>` (global). */
export function slotKey(serviceId: string, slotOrNodeId: number | string): string {
  return `${serviceId}/${slotOrNodeId}`;
}

export const tasksTable = {
  kind: "task",
  indexes: {
    serviceId: (t) => (t.serviceId === "" ? [] : [t.serviceId]),
    nodeId: (t) => (t.nodeId === "" ? [] : [t.nodeId]),
    slot: (t) => (t.serviceId === "" ? [] : [slotKey(t.serviceId, t.slot > 0 ? t.slot : t.nodeId)]),
    desiredState: (t) => [String(t.desiredState)],
    taskState: (t) => [String(t.status?.state ?? 0)],
    label: (t) => labelKeys(t.serviceLabels),
    labelValue: (t) => labelValueKeys(t.serviceLabels),
    secretId: (t) => secretIdsOf(t.spec),
    configId: (t) => configIdsOf(t.spec),
    networkId: (t) => networkIdsOf(t),
  },
} satisfies TableSpec<"task", string>;
export type TaskIndex = keyof typeof tasksTable.indexes;

function networkIdsOf(t: Task): readonly string[] {
  const targets = networkTargetsOf(t.spec);
  if (t.networks.length === 0) return targets;
  // Usually the attachments are the spec's targets again (resolved ids): no new keys then.
  if (t.networks.length === targets.length && t.networks.every((n, i) => n.networkId === targets[i]))
    return targets;
  return distinct([...targets, ...t.networks.map((n) => n.networkId)]);
}
