import { ShoalError } from "@shoal/base";
import { StoreErrorCode } from "./errors.js";
import type { Kind, ObjectByKind } from "./kinds.js";
import type { IndexByKind, Tables } from "./tables.js";

/** Reads of one kind inside `view` or `update`. Returned objects are shared: never mutate them. */
export interface KindReader<K extends Kind> {
  get(id: string): ObjectByKind[K] | undefined;
  /** Every object, sorted by id. */
  list(): ObjectByKind[K][];
  count(): number;
  /** Objects whose `index` keys include `key`, sorted by id (see the README for each index). */
  find(index: IndexByKind[K], key: string): ObjectByKind[K][];
  /** By unique name (services, networks, secrets, configs, clusters). */
  byName(name: string): ObjectByKind[K] | undefined;
  /**
   * As the docker CLI resolves a reference: the exact id, else the unique name, else the unique id
   * prefix. Throws STORE_NOT_FOUND, or STORE_AMBIGUOUS_PREFIX naming the candidates.
   */
  resolve(ref: string): ObjectByKind[K];
}

/** One consistent version of every table. */
export interface ReadTx {
  readonly nodes: KindReader<"node">;
  readonly services: KindReader<"service">;
  readonly tasks: KindReader<"task">;
  readonly networks: KindReader<"network">;
  readonly secrets: KindReader<"secret">;
  readonly configs: KindReader<"config">;
  readonly clusters: KindReader<"cluster">;
}

export const READER_NAMES = {
  node: "nodes",
  service: "services",
  task: "tasks",
  network: "networks",
  secret: "secrets",
  config: "configs",
  cluster: "clusters",
} as const satisfies Record<Kind, keyof ReadTx>;

/**
 * Uncommitted writes of a transaction to one kind, by id (null = deleted). Reads inside `update`
 * see them; `view` has none.
 */
export type Overlay = Map<string, ObjectByKind[Kind] | null>;

export class KindView<K extends Kind> implements KindReader<K> {
  constructor(
    private readonly tables: Tables,
    private readonly kind: K,
    private readonly overlay: Overlay | undefined,
  ) {}

  private get table() {
    return this.tables.table(this.kind);
  }

  get(id: string): ObjectByKind[K] | undefined {
    const o = this.overlay?.get(id);
    if (o !== undefined) return o === null ? undefined : (o as ObjectByKind[K]);
    return this.table.get(id);
  }

  list(): ObjectByKind[K][] {
    const table = this.table;
    if (this.overlay === undefined || this.overlay.size === 0) {
      // A view (no writes of its own): the table's ids are kept in order, no sort per call.
      return table.sortedIds().map((id) => table.get(id)!);
    }
    const out: ObjectByKind[K][] = [];
    for (const o of table.values()) {
      if (this.overlay?.has(o.id)) continue;
      out.push(o);
    }
    this.addOverlay(out, () => true);
    return sortById(out);
  }

  count(): number {
    if (this.overlay === undefined || this.overlay.size === 0) return this.table.size;
    return this.list().length;
  }

  find(index: IndexByKind[K], key: string): ObjectByKind[K][] {
    // The ids are sorted with the built-in string order (the same as `<` on ids, no comparator
    // call per step): sorting the objects by a JS comparator was a third of a scoped pass's reads.
    const table = this.table;
    const overlay = this.overlay;
    const ids: string[] = [];
    for (const id of table.idsBy(index as never, key)) if (overlay?.has(id) !== true) ids.push(id);
    if (overlay !== undefined) {
      for (const [id, o] of overlay)
        if (o !== null && table.keysOf(index as never, o as never).includes(key)) ids.push(id);
    }
    ids.sort();
    return ids.map((id) => this.get(id)!);
  }

  byName(name: string): ObjectByKind[K] | undefined {
    const table = this.table;
    if (this.overlay !== undefined) {
      for (const o of this.overlay.values())
        if (o !== null && table.nameOf(o as never) === name) return o as ObjectByKind[K];
    }
    const id = table.idByName(name);
    return id === undefined ? undefined : this.get(id);
  }

  resolve(ref: string): ObjectByKind[K] {
    const exact = this.get(ref) ?? this.byName(ref);
    if (exact !== undefined) return exact;
    const nameIndex = this.table.nameIndex();
    if (nameIndex !== undefined && ref !== "") {
      const named = this.find(nameIndex as IndexByKind[K], ref);
      if (named.length === 1) return named[0]!;
      if (named.length > 1) {
        const ids = named.map((o) => o.id);
        throw new ShoalError(
          StoreErrorCode.AmbiguousPrefix,
          `${this.kind} name "${ref}" names ${ids.length}: ${ids.slice(0, 10).join(", ")}${ids.length > 10 ? ", …" : ""}`,
          {
            hint: "give the id (or a unique id prefix) instead",
            details: { kind: this.kind, ref, candidates: ids },
          },
        );
      }
    }
    const ids = new Set(this.table.idsWithPrefix(ref));
    if (this.overlay !== undefined) {
      for (const [id, o] of this.overlay) {
        if (o === null) ids.delete(id);
        else if (id.startsWith(ref)) ids.add(id);
      }
    }
    if (ids.size === 1) return this.get([...ids][0]!)!;
    if (ids.size === 0 || ref === "")
      throw new ShoalError(StoreErrorCode.NotFound, `${this.kind} "${ref}" not found`, {
        details: { kind: this.kind, ref },
      });
    const candidates = [...ids].sort();
    throw new ShoalError(
      StoreErrorCode.AmbiguousPrefix,
      `${this.kind} id prefix "${ref}" is ambiguous: ${candidates.slice(0, 10).join(", ")}${candidates.length > 10 ? `, … (${candidates.length})` : ""}`,
      { hint: "give more characters of the id", details: { kind: this.kind, ref, candidates } },
    );
  }

  private addOverlay(out: ObjectByKind[K][], matches: (o: ObjectByKind[Kind]) => boolean): void {
    if (this.overlay === undefined) return;
    for (const o of this.overlay.values()) if (o !== null && matches(o)) out.push(o as ObjectByKind[K]);
  }
}

function sortById<T extends { id: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function readTx(tables: Tables, overlays?: { [K in Kind]: Overlay }): ReadTx {
  return {
    nodes: new KindView(tables, "node", overlays?.node),
    services: new KindView(tables, "service", overlays?.service),
    tasks: new KindView(tables, "task", overlays?.task),
    networks: new KindView(tables, "network", overlays?.network),
    secrets: new KindView(tables, "secret", overlays?.secret),
    configs: new KindView(tables, "config", overlays?.config),
    clusters: new KindView(tables, "cluster", overlays?.cluster),
  };
}
