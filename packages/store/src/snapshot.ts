import { createHash } from "node:crypto";
import { ShoalError } from "@shoal/base";
import { StoreSnapshot } from "@shoal/proto";
import { StoreErrorCode } from "./errors.js";
import { CODECS, KINDS } from "./kinds.js";
import type { Tables } from "./tables.js";

/**
 * Encodes every table with the proto's binary codecs. Synchronous: it runs between two applies,
 * so it sees one version and stalls apply for exactly its encode time; objects are immutable
 * once stored, so no copy is made first.
 */
export function encodeSnapshot(tables: Tables): Uint8Array {
  const t = tables.byKind;
  return StoreSnapshot.encode({
    nodes: [...t.node.values()],
    services: [...t.service.values()],
    tasks: [...t.task.values()],
    networks: [...t.network.values()],
    secrets: [...t.secret.values()],
    configs: [...t.config.values()],
    clusters: [...t.cluster.values()],
    members: [],
    removedMembers: [],
  }).finish();
}

/**
 * Decodes a snapshot into fresh tables' contents. Throws STORE_SNAPSHOT_CORRUPT (naming `source`)
 * and leaves `tables` untouched when the bytes are not a valid snapshot.
 */
export function decodeSnapshot(data: Uint8Array, source: string): StoreSnapshot {
  let snap: StoreSnapshot;
  try {
    snap = StoreSnapshot.decode(data);
  } catch (err) {
    throw corrupt(source, `it does not decode (${(err as Error).message})`, err);
  }
  const lists = [
    snap.nodes,
    snap.services,
    snap.tasks,
    snap.networks,
    snap.secrets,
    snap.configs,
    snap.clusters,
  ];
  for (const [i, list] of lists.entries()) {
    const seen = new Set<string>();
    for (const o of list) {
      if (o.id === "" || seen.has(o.id))
        throw corrupt(source, `a ${KINDS[i]} has an empty or repeated id "${o.id}"`);
      seen.add(o.id);
    }
  }
  return snap;
}

export function loadSnapshot(tables: Tables, snap: StoreSnapshot): void {
  tables.clear();
  const t = tables.byKind;
  for (const o of snap.nodes) t.node.put(o);
  for (const o of snap.services) t.service.put(o);
  for (const o of snap.tasks) t.task.put(o);
  for (const o of snap.networks) t.network.put(o);
  for (const o of snap.secrets) t.secret.put(o);
  for (const o of snap.configs) t.config.put(o);
  for (const o of snap.clusters) t.cluster.put(o);
}

function corrupt(source: string, why: string, cause?: unknown): ShoalError {
  return new ShoalError(StoreErrorCode.SnapshotCorrupt, `store snapshot ${source} is corrupt: ${why}`, {
    hint: "move the snapshot file away to fall back to the older one, or remove this member and rejoin it empty",
    details: { source },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** SHA-256 over every object of every table in kind and id order: equal on members that agree. */
export function hashTables(tables: Tables): string {
  const h = createHash("sha256");
  const len = Buffer.alloc(4);
  for (const kind of KINDS) {
    const table = tables.table(kind);
    h.update(kind);
    const codec = CODECS[kind] as { encode(o: unknown): { finish(): Uint8Array } };
    for (const id of table.sortedIds()) {
      const bytes = codec.encode(table.get(id)).finish();
      len.writeUInt32LE(bytes.byteLength);
      h.update(len);
      h.update(bytes);
    }
  }
  return h.digest("hex");
}
