import { ShoalError } from "@shoal/base";
import { ObjectAction, type StoreAction, type StoreRequest } from "@shoal/proto";
import { encodeAction, encodedActionBytes, encodeRequestOf } from "./entry-codec.js";
import { StoreErrorCode } from "./errors.js";
import { CODECS, type Kind, type ObjectByKind, toStoreObject } from "./kinds.js";
import { type KindReader, KindView, type Overlay, type READER_NAMES } from "./read-tx.js";
import type { SpecInterner } from "./spec-interner.js";
import type { Tables } from "./tables.js";

/** Reads plus writes of one kind inside `update`; reads see the transaction's own writes. */
export interface KindWriter<K extends Kind> extends KindReader<K> {
  /** Adds a new object (id chosen by the caller, e.g. `newId()`); stamps created/updated times. */
  create(object: ObjectByKind[K]): ObjectByKind[K];
  /**
   * Replaces an object. `object.meta.version` must be the version that was read (copy the object
   * you read and change the copy): if another write got there first the transaction fails with
   * STORE_VERSION_CONFLICT when it is applied.
   */
  update(object: ObjectByKind[K]): ObjectByKind[K];
  /** Removes an object (fails at apply time if it changed since this transaction read it). */
  delete(id: string): void;
}

export type WriteTx = { readonly [K in Kind as (typeof READER_NAMES)[K]]: KindWriter<K> };

interface PendingChange {
  kind: Kind;
  action: ObjectAction;
  object: ObjectByKind[Kind];
  readVersion: number;
  /** The action encoded at `readVersion`, once asked for (a batch sizes and sends the same bytes). */
  encoded?: Uint8Array | undefined;
}

/** Collects a transaction's writes (one entry per object, in first-write order). */
export class ChangeSet {
  private readonly changes = new Map<string, PendingChange>();

  /** `overlays` may be shared by several change sets (the transactions of one batch). */
  constructor(readonly overlays: { [K in Kind]: Overlay } = emptyOverlays()) {}

  get size(): number {
    return this.changes.size;
  }

  record(kind: Kind, action: ObjectAction, object: ObjectByKind[Kind], readVersion: number): void {
    const key = `${kind}:${object.id}`;
    const prev = this.changes.get(key);
    this.overlays[kind].set(object.id, action === ObjectAction.REMOVE ? null : object);
    if (prev === undefined) {
      this.changes.set(key, { kind, action, object, readVersion });
      return;
    }
    // Several writes to one object collapse into one action with the first read version.
    if (prev.action === ObjectAction.CREATE && action === ObjectAction.REMOVE) {
      this.changes.delete(key);
      this.overlays[kind].delete(object.id);
      return;
    }
    const merged =
      prev.action === ObjectAction.CREATE
        ? ObjectAction.CREATE
        : prev.action === ObjectAction.REMOVE && action === ObjectAction.CREATE
          ? ObjectAction.UPDATE
          : action;
    this.changes.set(key, { kind, action: merged, object, readVersion: prev.readVersion });
  }

  /** The actions as they go into the entry; `versionOverride` re-bases objects written earlier in a batch. */
  actions(versionOverride?: ReadonlyMap<string, number>): StoreAction[] {
    const out: StoreAction[] = [];
    for (const [key, c] of this.changes) out.push(actionOf(c, versionOverride?.get(key) ?? c.readVersion));
    return out;
  }

  /** Encodes each change once (at its own read version); the bytes they add to a request. */
  encode(specs: SpecInterner): number {
    let bytes = 0;
    for (const c of this.changes.values()) {
      c.encoded ??= encodeAction(actionOf(c, c.readVersion), specs);
      bytes += encodedActionBytes(c.encoded);
    }
    return bytes;
  }

  /**
   * `encodeRequest(actionsRequest(id, versionOverride))`, from each change's encoding where it
   * was made (only a change re-based to another version is encoded again).
   */
  encodedRequest(id: number, specs: SpecInterner, versionOverride?: ReadonlyMap<string, number>): Uint8Array {
    const out: Uint8Array[] = [];
    for (const [key, c] of this.changes) {
      const readVersion = versionOverride?.get(key) ?? c.readVersion;
      if (readVersion !== c.readVersion) out.push(encodeAction(actionOf(c, readVersion), specs));
      else {
        c.encoded ??= encodeAction(actionOf(c, readVersion), specs);
        out.push(c.encoded);
      }
    }
    return encodeRequestOf(id, out);
  }

  /** The store request carrying these changes. */
  actionsRequest(id: number, versionOverride?: ReadonlyMap<string, number>): StoreRequest {
    return { id, actions: this.actions(versionOverride) };
  }

  keys(): IterableIterator<string> {
    return this.changes.keys();
  }

  /** Adds `other`'s changes after this set's own (a batch packing callbacks into a transaction). */
  absorb(other: ChangeSet): void {
    for (const [key, c] of other.changes) {
      if (this.changes.has(key)) this.record(c.kind, c.action, c.object, c.readVersion);
      else {
        // Kept whole, its encoding with it.
        this.changes.set(key, c);
        this.overlays[c.kind].set(c.object.id, c.action === ObjectAction.REMOVE ? null : c.object);
      }
    }
  }
}

function actionOf(c: PendingChange, readVersion: number): StoreAction {
  const object =
    c.action === ObjectAction.REMOVE
      ? (CODECS[c.kind] as { fromPartial(o: object): object }).fromPartial({
          id: c.object.id,
          meta: { version: readVersion, createdAtMs: 0, updatedAtMs: 0 },
        })
      : { ...c.object, meta: { createdAtMs: 0, updatedAtMs: 0, ...c.object.meta, version: readVersion } };
  return { action: c.action, object: toStoreObject(c.kind, object as never) };
}

export function emptyOverlays(): { [K in Kind]: Overlay } {
  // A literal (not fromEntries over KINDS): built once per transaction, on the write path.
  return {
    node: new Map(),
    service: new Map(),
    task: new Map(),
    network: new Map(),
    secret: new Map(),
    config: new Map(),
    cluster: new Map(),
  };
}

class KindWriterImpl<K extends Kind> extends KindView<K> implements KindWriter<K> {
  constructor(
    tables: Tables,
    private readonly kindName: K,
    private readonly set: ChangeSet,
    private readonly nowMs: () => number,
  ) {
    super(tables, kindName, set.overlays[kindName]);
  }

  create(object: ObjectByKind[K]): ObjectByKind[K] {
    if (object.id === "")
      throw new ShoalError(StoreErrorCode.InvalidObject, `${this.kindName} to create has no id`);
    const existing = this.get(object.id);
    if (existing !== undefined)
      throw new ShoalError(StoreErrorCode.AlreadyExists, `${this.kindName} "${object.id}" already exists`, {
        details: { kind: this.kindName, id: object.id },
      });
    const now = this.nowMs();
    const stored = { ...object, meta: { version: 0, createdAtMs: now, updatedAtMs: now } } as ObjectByKind[K];
    this.set.record(this.kindName, ObjectAction.CREATE, stored, 0);
    return stored;
  }

  update(object: ObjectByKind[K]): ObjectByKind[K] {
    const existing = this.get(object.id);
    if (existing === undefined)
      throw new ShoalError(StoreErrorCode.NotFound, `${this.kindName} "${object.id}" not found`, {
        details: { kind: this.kindName, id: object.id },
      });
    const readVersion = object.meta?.version ?? 0;
    const stored = {
      ...object,
      meta: { createdAtMs: existing.meta?.createdAtMs ?? 0, version: readVersion, updatedAtMs: this.nowMs() },
    } as ObjectByKind[K];
    this.set.record(this.kindName, ObjectAction.UPDATE, stored, readVersion);
    return stored;
  }

  delete(id: string): void {
    const existing = this.get(id);
    if (existing === undefined)
      throw new ShoalError(StoreErrorCode.NotFound, `${this.kindName} "${id}" not found`, {
        details: { kind: this.kindName, id },
      });
    this.set.record(this.kindName, ObjectAction.REMOVE, existing, existing.meta?.version ?? 0);
  }
}

export function writeTx(tables: Tables, set: ChangeSet, nowMs: () => number): WriteTx {
  const w = <K extends Kind>(k: K) => new KindWriterImpl(tables, k, set, nowMs);
  return {
    nodes: w("node"),
    services: w("service"),
    tasks: w("task"),
    networks: w("network"),
    secrets: w("secret"),
    configs: w("config"),
    clusters: w("cluster"),
  };
}
