import { ShoalError } from "@shoal/base";
import { ObjectAction, type StoreAction } from "@shoal/proto";
import type { Change } from "./change.js";
import {
  checkNotInUse,
  checkServiceWrite,
  checkTaskCreate,
  checkTaskUpdate,
  checkUniqueName,
  versionConflict,
} from "./checks.js";
import { StoreErrorCode } from "./errors.js";
import type { Kind, StoredObject } from "./kinds.js";
import type { Tables } from "./tables.js";

/** What one transaction did: its changes in order, or why it changed nothing. */
export type ApplyOutcome = { ok: true; changes: Change[] } | { ok: false; error: ShoalError };

/**
 * Applies one transaction at raft `index`: every action or none. Pure apart from `tables`: no
 * clock, no randomness, so every member gets the same outcome from the same entry. A failed
 * check is a result (matched to the waiting writer), never a throw: a throwing apply stops the
 * raft member. Written objects take `meta.version = index`; the objects in `actions` become the
 * stored objects (the caller hands over freshly decoded ones).
 */
export function applyRequest(tables: Tables, actions: readonly StoreAction[], index: number): ApplyOutcome {
  const changes: Change[] = [];
  for (const action of actions) {
    const error = applyAction(tables, action, index, changes);
    if (error !== undefined) {
      undo(tables, changes);
      return { ok: false, error };
    }
  }
  return { ok: true, changes };
}

function applyAction(
  tables: Tables,
  action: StoreAction,
  index: number,
  changes: Change[],
): ShoalError | undefined {
  const oneof = action.object?.object;
  if (oneof === undefined || oneof.value.id === "")
    return new ShoalError(
      StoreErrorCode.InvalidObject,
      "store action has no object or an object without an id",
    );
  const kind: Kind = oneof.$case;
  const object: StoredObject = oneof.value;
  if (oneof.$case === "task" && oneof.value.spec !== undefined && action.action !== ObjectAction.REMOVE)
    oneof.value.spec = tables.specs.intern(oneof.value.spec);
  const table = tables.table(kind);
  const old = table.get(object.id) as StoredObject | undefined;
  const readVersion = object.meta?.version ?? 0;
  switch (action.action) {
    case ObjectAction.CREATE: {
      if (old !== undefined)
        return new ShoalError(StoreErrorCode.AlreadyExists, `${kind} "${object.id}" already exists`, {
          details: { kind, id: object.id },
        });
      const error =
        checkUniqueName(tables, kind, object) ??
        (kind === "task" ? checkTaskCreate(tables, object as never) : undefined) ??
        (kind === "service" ? checkServiceWrite(tables, object as never) : undefined);
      if (error !== undefined) return error;
      stamp(object, index);
      table.put(object as never);
      changes.push({ objectKind: kind, action: "create", id: object.id, object, old: undefined } as Change);
      return undefined;
    }
    case ObjectAction.UPDATE: {
      if (old === undefined) return notFound(kind, object.id);
      const found = old.meta?.version ?? 0;
      if (readVersion !== found) return versionConflict(kind, object.id, readVersion, found);
      const error =
        checkUniqueName(tables, kind, object) ??
        (kind === "task" ? checkTaskUpdate(old as never, object as never) : undefined) ??
        (kind === "service" ? checkServiceWrite(tables, object as never) : undefined);
      if (error !== undefined) return error;
      stamp(object, index);
      table.put(object as never);
      changes.push({ objectKind: kind, action: "update", id: object.id, object, old } as Change);
      return undefined;
    }
    case ObjectAction.REMOVE: {
      if (old === undefined) return notFound(kind, object.id);
      const found = old.meta?.version ?? 0;
      if (readVersion !== 0 && readVersion !== found)
        return versionConflict(kind, object.id, readVersion, found);
      const error = checkNotInUse(tables, kind, old);
      if (error !== undefined) return error;
      table.delete(object.id);
      changes.push({ objectKind: kind, action: "delete", id: object.id, object: undefined, old } as Change);
      return undefined;
    }
    default:
      return new ShoalError(
        StoreErrorCode.InvalidObject,
        `store action ${action.action} on ${kind} "${object.id}" is unknown`,
      );
  }
}

function stamp(object: StoredObject, index: number): void {
  if (object.meta === undefined) object.meta = { version: index, createdAtMs: 0, updatedAtMs: 0 };
  else object.meta.version = index;
}

function notFound(kind: Kind, id: string): ShoalError {
  return new ShoalError(StoreErrorCode.NotFound, `${kind} "${id}" not found`, { details: { kind, id } });
}

/** Rolls back the changes of a transaction that failed part-way, newest first. */
function undo(tables: Tables, changes: Change[]): void {
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i]!;
    const table = tables.table(c.objectKind);
    if (c.old === undefined) table.delete(c.id);
    else table.put(c.old as never);
  }
}
