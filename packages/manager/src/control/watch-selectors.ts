// `Watch` selectors (pure): which store events a WatchRequest wants, and their wire form.
import {
  ObjectAction,
  ObjectKind,
  type StoreObject,
  type WatchMessage,
  type WatchSelector,
} from "@shoal/proto";
import type { ChangeEvent, Kind, StoredObject, StoreEvent } from "@shoal/store";

const KIND_OF: Record<Kind, ObjectKind> = {
  node: ObjectKind.NODE,
  service: ObjectKind.SERVICE,
  task: ObjectKind.TASK,
  network: ObjectKind.NETWORK,
  secret: ObjectKind.SECRET,
  config: ObjectKind.CONFIG,
  cluster: ObjectKind.CLUSTER,
};
const ACTION_OF = {
  create: ObjectAction.CREATE,
  update: ObjectAction.UPDATE,
  delete: ObjectAction.REMOVE,
} as const;

function nameOf(o: StoredObject | undefined): string {
  const spec = (o as { spec?: { name?: string } } | undefined)?.spec;
  return spec?.name ?? (o as { name?: string } | undefined)?.name ?? "";
}

function labelsOf(o: StoredObject | undefined): Record<string, string> {
  const spec = (o as { spec?: { labels?: Record<string, string> } } | undefined)?.spec;
  return spec?.labels ?? {};
}

function matchesSelector(s: WatchSelector, e: ChangeEvent): boolean {
  const o = e.object ?? e.old;
  if (s.kind !== ObjectKind.UNSPECIFIED && s.kind !== KIND_OF[e.objectKind]) return false;
  if (s.actions.length > 0 && !s.actions.includes(ACTION_OF[e.action])) return false;
  if (s.id !== "" && e.id !== s.id) return false;
  if (s.idPrefix !== "" && !e.id.startsWith(s.idPrefix)) return false;
  if (s.name !== "" && nameOf(o) !== s.name) return false;
  if (s.namePrefix !== "" && !nameOf(o).startsWith(s.namePrefix)) return false;
  if (
    s.serviceId !== "" &&
    (e.objectKind !== "task" || (o as { serviceId: string }).serviceId !== s.serviceId)
  ) {
    return false;
  }
  if (s.nodeId !== "" && (e.objectKind !== "task" || (o as { nodeId: string }).nodeId !== s.nodeId))
    return false;
  const labels = labelsOf(o);
  for (const [k, v] of Object.entries(s.labels)) {
    if (!(k in labels) || (v !== "" && labels[k] !== v)) return false;
  }
  return true;
}

/** Empty selectors want everything; otherwise any one selector must match. */
export function wantsEvent(selectors: readonly WatchSelector[], e: ChangeEvent): boolean {
  return selectors.length === 0 || selectors.some((s) => matchesSelector(s, e));
}

function storeObject(kind: Kind, value: StoredObject | undefined): StoreObject | undefined {
  if (value === undefined) return undefined;
  return { object: { $case: kind, value: redact(kind, value) } as StoreObject["object"] };
}

/**
 * Secrets lose their data, the cluster its sealed CA key, tasks their registry credentials: none
 * leaves the manager through the control API (the dispatcher hands a task's credentials to its
 * node only).
 */
export function redact<T extends StoredObject>(kind: Kind, value: T): T {
  if (kind === "task") return { ...value, registryAuth: undefined } as T;
  if (kind === "secret") {
    const s = value as unknown as { spec?: { data: Uint8Array } };
    return { ...value, spec: s.spec === undefined ? undefined : { ...s.spec, data: new Uint8Array() } } as T;
  }
  if (kind === "cluster") {
    const c = value as unknown as { rootCa?: { caKey: Uint8Array } };
    return {
      ...value,
      rootCa: c.rootCa === undefined ? undefined : { ...c.rootCa, caKey: new Uint8Array() },
    } as T;
  }
  return value;
}

export function toWatchMessage(e: StoreEvent, includeOld: boolean): WatchMessage {
  if (e.kind === "commit") return { message: { $case: "commit", value: { version: e.index } } };
  return {
    message: {
      $case: "event",
      value: {
        kind: KIND_OF[e.objectKind],
        action: ACTION_OF[e.action],
        object: storeObject(e.objectKind, e.object ?? e.old),
        oldObject: includeOld ? storeObject(e.objectKind, e.old) : undefined,
      },
    },
  };
}
