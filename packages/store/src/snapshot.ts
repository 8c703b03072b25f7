import { createHash } from "node:crypto";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ShoalError } from "@shoal/base";
import { StoreErrorCode } from "./errors.js";
import { CODECS, KINDS, type Kind, type ObjectByKind, type StoredObject } from "./kinds.js";
import type { SpecInterner } from "./spec-interner.js";
import type { Tables } from "./tables.js";
import { decodeTask, encodeTask } from "./task-codec.js";

// StoreSnapshot field numbers (proto/shoal/v1/raft.proto) and Task's spec field.
const SNAPSHOT_FIELDS: Record<Kind, number> = {
  node: 1,
  service: 2,
  task: 3,
  network: 4,
  secret: 5,
  config: 6,
  cluster: 7,
};
const KIND_BY_FIELD = new Map(Object.entries(SNAPSHOT_FIELDS).map(([k, f]) => [f, k as Kind]));
const LD = WireType.LengthDelimited;

/**
 * Encodes every table as a StoreSnapshot with the proto's binary codecs. Synchronous: it runs
 * between two applies, so it sees one version and stalls apply for exactly its encode time
 * (objects are immutable once stored, so no copy is made first). A task's spec is written from
 * the interned encoding instead of being encoded once per task.
 */
export function encodeSnapshot(tables: Tables): Uint8Array {
  // Written in chunks of OBJECTS_PER_CHUNK objects through one writer whose buffer is reused,
  // then joined once into an exactly sized buffer: one growing 100 MiB buffer costs more in
  // fresh pages and copies on growth than the encoding itself.
  const w = new BinaryWriter();
  const chunks: Uint8Array[] = [];
  let inChunk = 0;
  const objectDone = () => {
    if (++inChunk < OBJECTS_PER_CHUNK) return;
    chunks.push(w.finish());
    inChunk = 0;
  };
  for (const kind of KINDS) {
    const field = SNAPSHOT_FIELDS[kind];
    if (kind === "task") {
      for (const t of tables.byKind.task.values()) {
        w.uint32((field << 3) | LD).fork();
        encodeTask(t, w, tables.specs);
        w.join();
        objectDone();
      }
      continue;
    }
    const codec = CODECS[kind] as unknown as { encode(o: unknown, w: BinaryWriter): BinaryWriter };
    for (const o of tables.table(kind).values()) {
      codec.encode(o, w.uint32((field << 3) | LD).fork()).join();
      objectDone();
    }
  }
  chunks.push(w.finish());
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** About 1 MiB of realistic tasks. */
const OBJECTS_PER_CHUNK = 1000;

/** A decoded snapshot: every object by kind. */
export type DecodedSnapshot = { [K in Kind]: ObjectByKind[K][] };

/**
 * Decodes a snapshot. Throws STORE_SNAPSHOT_CORRUPT (naming `source`) when the bytes are not a
 * valid snapshot; nothing is changed then.
 */
export function decodeSnapshot(data: Uint8Array, source: string, specs: SpecInterner): DecodedSnapshot {
  const out = Object.fromEntries(KINDS.map((k) => [k, []])) as unknown as DecodedSnapshot;
  try {
    // A plain view: the per-object subarrays of a Buffer are Buffers, slower to make and to read.
    const r = new BinaryReader(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    while (r.pos < r.len) {
      const [field, wireType] = r.tag();
      const kind = KIND_BY_FIELD.get(field);
      if (kind === undefined || wireType !== LD) {
        r.skip(wireType, field); // members / removed members (kept by the manager), or unknown
        continue;
      }
      const bytes = r.bytes();
      if (kind === "task") out.task.push(decodeTask(bytes, specs));
      else
        (out[kind] as StoredObject[]).push(
          (CODECS[kind] as { decode(b: Uint8Array): StoredObject }).decode(bytes),
        );
    }
  } catch (err) {
    throw corrupt(source, `it does not decode (${(err as Error).message})`, err);
  }
  for (const kind of KINDS) {
    const seen = new Set<string>();
    for (const o of out[kind]) {
      if (o.id === "" || seen.has(o.id))
        throw corrupt(source, `a ${kind} has an empty or repeated id "${o.id}"`);
      seen.add(o.id);
    }
  }
  return out;
}

export function loadSnapshot(tables: Tables, snap: DecodedSnapshot): void {
  tables.clear();
  for (const kind of KINDS) tables.table(kind).load(snap[kind] as never);
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
