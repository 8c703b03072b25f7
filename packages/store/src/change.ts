import type { Kind, ObjectByKind } from "./kinds.js";

export type ChangeAction = "create" | "update" | "delete";

/** One object written by an applied transaction: its new version (none after a delete) and the old. */
export type Change = {
  [K in Kind]: {
    objectKind: K;
    action: ChangeAction;
    id: string;
    /** The object as stored now (undefined after a delete). */
    object: ObjectByKind[K] | undefined;
    /** The object before (undefined after a create). */
    old: ObjectByKind[K] | undefined;
  };
}[Kind];
