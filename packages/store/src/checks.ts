import { ShoalError } from "@shoal/base";
import { isTaskTerminal, type Service, type Task, type TaskSpec } from "@shoal/proto";
import { StoreErrorCode } from "./errors.js";
import type { Kind, StoredObject } from "./kinds.js";
import { configIdsOf, networkTargetsOf, secretIdsOf } from "./tables/references.js";
import type { Tables } from "./tables.js";

// Apply-time checks. They read only the tables and the entry, so every member reaches the same
// verdict for the same entry: this is what keeps names unique and references valid when two
// proposals race (each passed the proposer's own checks against an older state).

export function versionConflict(kind: Kind, id: string, read: number, found: number): ShoalError {
  return new ShoalError(
    StoreErrorCode.VersionConflict,
    `${kind} "${id}" changed since it was read (read version ${read}, found version ${found})`,
    { hint: "read the object again and retry the update", details: { kind, id, read, found } },
  );
}

export function checkUniqueName(tables: Tables, kind: Kind, object: StoredObject): ShoalError | undefined {
  const table = tables.table(kind);
  if (!table.hasUniqueNames()) return undefined;
  const name = table.nameOf(object as never) ?? "";
  if (name === "") return undefined;
  const holder = table.idByName(name);
  if (holder === undefined || holder === object.id) return undefined;
  return new ShoalError(
    StoreErrorCode.NameConflict,
    `${kind} name "${name}" is already used by ${kind} "${holder}"`,
    {
      hint: `choose another name or remove ${kind} "${holder}" first`,
      details: { kind, name, holder },
    },
  );
}

function missing(kind: Kind, id: string, refKind: string, ref: string): ShoalError {
  return new ShoalError(
    StoreErrorCode.MissingReference,
    `${kind} "${id}" refers to ${refKind} "${ref}", which does not exist`,
    {
      hint: `create ${refKind} "${ref}" first`,
      details: { kind, id, refKind, ref },
    },
  );
}

/** The secrets, configs and networks a task template names must exist. */
export function checkTemplateReferences(
  tables: Tables,
  kind: Kind,
  id: string,
  spec: TaskSpec | undefined,
): ShoalError | undefined {
  for (const s of secretIdsOf(spec))
    if (tables.byKind.secret.get(s) === undefined) return missing(kind, id, "secret", s);
  for (const c of configIdsOf(spec))
    if (tables.byKind.config.get(c) === undefined) return missing(kind, id, "config", c);
  const networks = tables.byKind.network;
  for (const n of networkTargetsOf(spec))
    if (networks.get(n) === undefined && networks.idByName(n) === undefined)
      return missing(kind, id, "network", n);
  return undefined;
}

export function checkTaskCreate(tables: Tables, task: Task): ShoalError | undefined {
  if (task.serviceId !== "" && tables.byKind.service.get(task.serviceId) === undefined)
    return missing("task", task.id, "service", task.serviceId);
  return checkTemplateReferences(tables, "task", task.id, task.spec);
}

export function checkTaskUpdate(old: Task, next: Task): ShoalError | undefined {
  const from = old.status?.state ?? 0;
  const to = next.status?.state ?? 0;
  if (to >= from) return undefined;
  return new ShoalError(
    StoreErrorCode.TaskStateBackwards,
    `task "${next.id}" state cannot move backwards from ${from} to ${to}`,
    {
      hint: "task states only move forward; a stale status report should be dropped",
      details: { id: next.id, from, to },
    },
  );
}

export function checkServiceWrite(tables: Tables, service: Service): ShoalError | undefined {
  return checkTemplateReferences(tables, "service", service.id, service.spec?.taskTemplate);
}

/** A secret, config or network may not be deleted while a service or a live task refers to it. */
export function checkNotInUse(tables: Tables, kind: Kind, object: StoredObject): ShoalError | undefined {
  if (kind !== "secret" && kind !== "config" && kind !== "network") return undefined;
  const index = kind === "secret" ? "secretId" : kind === "config" ? "configId" : "networkId";
  const keys = [object.id];
  const name = tables.table(kind).nameOf(object as never);
  if (kind === "network" && name) keys.push(name);
  const users: string[] = [];
  for (const key of keys) {
    for (const sid of tables.byKind.service.idsBy(index, key)) users.push(`service "${sid}"`);
    for (const tid of tables.byKind.task.idsBy(index, key)) {
      const t = tables.byKind.task.get(tid);
      if (t !== undefined && !isTaskTerminal(t.status?.state ?? 0)) users.push(`task "${tid}"`);
    }
  }
  if (users.length === 0) return undefined;
  users.sort();
  return new ShoalError(
    StoreErrorCode.InUse,
    `${kind} "${object.id}" is in use by ${users.slice(0, 5).join(", ")}${users.length > 5 ? ` and ${users.length - 5} more` : ""}`,
    { hint: `remove the ${kind} from those services first`, details: { kind, id: object.id, users } },
  );
}
