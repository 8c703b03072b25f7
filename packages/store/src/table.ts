import type { Kind, ObjectByKind } from "./kinds.js";

/** Derives an object's keys for one secondary index (several keys, or none). */
export type IndexKeys<T> = (object: T) => readonly string[];

/** What a table declares: its kind, its unique name (if names are unique) and its indexes. */
export interface TableSpec<K extends Kind, I extends string> {
  kind: K;
  /** The object's name when names are unique per kind (case-sensitive, as Docker's). */
  uniqueName?: (object: ObjectByKind[K]) => string;
  indexes: Record<I, IndexKeys<ObjectByKind[K]>>;
  /**
   * For kinds whose names need not be unique (nodes and their hostnames): the index whose keys
   * also name an object for `resolve`, which takes the one object holding the key and refuses a
   * key that several hold.
   */
  nameIndex?: NoInfer<I>;
}

const NO_IDS: readonly string[] = [];

/**
 * An index key's ids: the one id holding it, a set once several do (most slot keys stay single),
 * or — straight after a restore — the array the bulk load collected, turned into a set on the
 * key's first change (so restore never builds sets of 100,000 ids for keys like a task state).
 */
type IndexIds = string | Set<string> | string[];

/**
 * One kind's objects by id, plus its indexes, kept up to date change by change (never rebuilt).
 * Objects are stored as given and shared with readers: nobody may mutate them.
 */
export class Table<K extends Kind, I extends string> {
  readonly kind: K;
  private readonly spec: TableSpec<K, I>;
  private readonly byId = new Map<string, ObjectByKind[K]>();
  private readonly byName = new Map<string, string>();
  /** Per index: key → the one id holding it, or a set once several do (most slot keys stay single). */
  private readonly indexes = new Map<I, Map<string, IndexIds>>();
  private readonly indexNames: readonly I[];
  /**
   * The ids in order, kept between reads: listing a table sorted 100,000 task ids on every full
   * pass. An update leaves the ids as they are (most writes: status reports, assignments); a
   * new id is appended and the next read sorts an array that is one sorted run and a short tail
   * (V8's TimSort merges it in about linear time); a removal drops the cache.
   */
  private sorted: string[] | undefined;
  private sortedHasTail = false;

  constructor(spec: TableSpec<K, I>) {
    this.kind = spec.kind;
    this.spec = spec;
    this.indexNames = Object.keys(spec.indexes) as I[];
    for (const name of this.indexNames) this.indexes.set(name, new Map());
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): ObjectByKind[K] | undefined {
    return this.byId.get(id);
  }

  /** Every object, in insertion order (use `sortedIds` for a deterministic order). */
  values(): IterableIterator<ObjectByKind[K]> {
    return this.byId.values();
  }

  /** Every id in order (shared: never write to it). */
  sortedIds(): readonly string[] {
    if (this.sorted === undefined) {
      this.sorted = [...this.byId.keys()].sort();
      this.sortedHasTail = false;
    } else if (this.sortedHasTail) {
      this.sorted.sort();
      this.sortedHasTail = false;
    }
    return this.sorted;
  }

  /** The id holding `name`, for kinds with unique names. */
  idByName(name: string): string | undefined {
    return this.byName.get(name);
  }

  nameOf(object: ObjectByKind[K]): string | undefined {
    return this.spec.uniqueName?.(object);
  }

  /** The index `resolve` reads names from when they are not unique (see `TableSpec.nameIndex`). */
  nameIndex(): I | undefined {
    return this.spec.nameIndex;
  }

  hasUniqueNames(): boolean {
    return this.spec.uniqueName !== undefined;
  }

  /** Ids whose `index` keys include `key`, in no order. Live: copy it before writing to the table. */
  idsBy(index: I, key: string): Iterable<string> {
    const ids = this.indexes.get(index)?.get(key);
    if (ids === undefined) return NO_IDS;
    return typeof ids === "string" ? [ids] : ids;
  }

  keysOf(index: I, object: ObjectByKind[K]): readonly string[] {
    return this.spec.indexes[index](object);
  }

  /** Ids starting with `prefix`. */
  idsWithPrefix(prefix: string): string[] {
    const out: string[] = [];
    for (const id of this.byId.keys()) if (id.startsWith(prefix)) out.push(id);
    return out;
  }

  /** Inserts or replaces; returns the previous object. */
  put(object: ObjectByKind[K]): ObjectByKind[K] | undefined {
    const id = object.id;
    const old = this.byId.get(id);
    this.byId.set(id, object);
    if (old === undefined && this.sorted !== undefined) {
      this.sorted.push(id);
      this.sortedHasTail = true;
    }
    const uniqueName = this.spec.uniqueName;
    if (uniqueName !== undefined) {
      if (old !== undefined) this.byName.delete(uniqueName(old));
      this.byName.set(uniqueName(object), id);
    }
    for (const name of this.indexNames) {
      const keysOf = this.spec.indexes[name];
      const newKeys = keysOf(object);
      const oldKeys = old === undefined ? [] : keysOf(old);
      if (sameKeys(oldKeys, newKeys)) continue;
      const index = this.indexes.get(name)!;
      for (const k of oldKeys) removeFrom(index, k, id);
      for (const k of newKeys) addTo(index, k, id);
    }
    return old;
  }

  /** Removes `id`; returns the removed object. */
  delete(id: string): ObjectByKind[K] | undefined {
    const old = this.byId.get(id);
    if (old === undefined) return undefined;
    this.byId.delete(id);
    this.sorted = undefined;
    const uniqueName = this.spec.uniqueName;
    if (uniqueName !== undefined && this.byName.get(uniqueName(old)) === id)
      this.byName.delete(uniqueName(old));
    for (const name of this.indexNames) {
      const index = this.indexes.get(name)!;
      for (const k of this.spec.indexes[name](old)) removeFrom(index, k, id);
    }
    return old;
  }

  /**
   * Replaces the whole table with `objects` (restore): the indexes are built in bulk — each
   * key's ids collected in an array first and turned into a set once — instead of object by
   * object. Ids must be distinct (the snapshot decoder checks).
   */
  load(objects: readonly ObjectByKind[K][]): void {
    this.clear();
    const uniqueName = this.spec.uniqueName;
    for (const o of objects) {
      this.byId.set(o.id, o);
      if (uniqueName !== undefined) this.byName.set(uniqueName(o), o.id);
    }
    for (const name of this.indexNames) {
      const keysOf = this.spec.indexes[name];
      const collected = new Map<string, string[]>();
      for (const o of objects)
        for (const k of keysOf(o)) {
          const ids = collected.get(k);
          if (ids === undefined) collected.set(k, [o.id]);
          else ids.push(o.id);
        }
      const index = this.indexes.get(name)!;
      for (const [k, ids] of collected) index.set(k, ids.length === 1 ? ids[0]! : ids);
    }
  }

  clear(): void {
    this.byId.clear();
    this.sorted = undefined;
    this.byName.clear();
    for (const index of this.indexes.values()) index.clear();
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function addTo(index: Map<string, IndexIds>, key: string, id: string): void {
  const ids = index.get(key);
  if (ids === undefined) index.set(key, id);
  else if (typeof ids === "string") {
    if (ids !== id) index.set(key, new Set([ids, id]));
  } else if (Array.isArray(ids)) index.set(key, new Set(ids).add(id));
  else ids.add(id);
}

function removeFrom(index: Map<string, IndexIds>, key: string, id: string): void {
  let ids = index.get(key);
  if (ids === undefined) return;
  if (typeof ids === "string") {
    if (ids === id) index.delete(key);
    return;
  }
  if (Array.isArray(ids)) {
    ids = new Set(ids);
    index.set(key, ids);
  }
  ids.delete(id);
  if (ids.size === 1) index.set(key, ids.values().next().value!);
  else if (ids.size === 0) index.delete(key);
}
