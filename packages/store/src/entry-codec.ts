import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ObjectAction, type StoreAction, type StoreObject, type StoreRequest } from "@shoal/proto";
import { CODECS, type Kind, type StoredObject } from "./kinds.js";
import type { SpecInterner } from "./spec-interner.js";
import { decodeTask, encodeTask } from "./task-codec.js";

// One raft entry carries one or more store transactions (group commit: the requests of concurrent
// writers that arrive together share an entry, an fsync and a replication round). Each request
// still applies, or fails, on its own. The encoding is exactly that of
//   message StoreBatch { repeated StoreRequest requests = 1; }
// (StoreRequest, StoreAction and StoreObject as in proto/shoal/v1/raft.proto), so a proto-aware
// tool can read the log. It is written and read by hand only so that task specs go through the
// interner (task-codec.ts) instead of being encoded and decoded once per task.

const LD = WireType.LengthDelimited;
const OBJECT_FIELDS: Record<Kind, number> = {
  node: 1,
  service: 2,
  task: 3,
  network: 4,
  secret: 5,
  config: 6,
  cluster: 7,
};
const KIND_BY_FIELD = new Map(Object.entries(OBJECT_FIELDS).map(([k, f]) => [f, k as Kind]));

/** Encodes one request once; entries are concatenations of encoded requests. */
export function encodeRequest(request: StoreRequest, specs: SpecInterner): Uint8Array {
  return encodeRequestOf(
    request.id,
    request.actions.map((a) => encodeAction(a, specs)),
  );
}

/**
 * A request from actions encoded by `encodeAction` (the same bytes as `encodeRequest`): a batch
 * encodes each action once, to size its transactions, and sends those bytes.
 */
export function encodeRequestOf(id: number, encodedActions: readonly Uint8Array[]): Uint8Array {
  const w = new BinaryWriter();
  if (id !== 0) w.uint32(8).uint64(id);
  for (const a of encodedActions) w.uint32((2 << 3) | LD).bytes(a);
  return w.finish();
}

/** The bytes one action adds to a request: its tag, length and encoding. */
export function encodedActionBytes(encodedAction: Uint8Array): number {
  let n = encodedAction.byteLength;
  let len = 1;
  while (n >= 0x80) {
    n >>>= 7;
    len++;
  }
  return 1 + len + encodedAction.byteLength;
}

/** One StoreAction message. */
export function encodeAction(a: StoreAction, specs: SpecInterner): Uint8Array {
  const w = new BinaryWriter();
  if (a.action !== 0) w.uint32(8).int32(a.action);
  const o = a.object?.object;
  if (o !== undefined) {
    w.uint32((2 << 3) | LD).fork();
    w.uint32((OBJECT_FIELDS[o.$case] << 3) | LD).fork();
    if (o.$case === "task") encodeTask(o.value, w, specs);
    else (CODECS[o.$case] as unknown as { encode(v: unknown, w: BinaryWriter): void }).encode(o.value, w);
    w.join();
    w.join();
  }
  return w.finish();
}

export function encodeEntry(encodedRequests: readonly Uint8Array[]): Uint8Array {
  const w = new BinaryWriter();
  for (const r of encodedRequests) w.uint32((1 << 3) | LD).bytes(r);
  return w.finish();
}

/** Throws on bytes that are not a StoreBatch (the caller treats that as a broken invariant). */
export function decodeEntry(data: Uint8Array, specs: SpecInterner): StoreRequest[] {
  const r = new BinaryReader(data);
  const out: StoreRequest[] = [];
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field !== 1 || wireType !== LD)
      throw new Error(`unexpected field ${field} (wire type ${wireType}) at byte ${r.pos}`);
    out.push(decodeRequest(r.bytes(), specs));
  }
  return out;
}

function decodeRequest(bytes: Uint8Array, specs: SpecInterner): StoreRequest {
  const r = new BinaryReader(bytes);
  const request: StoreRequest = { id: 0, actions: [] };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === WireType.Varint) request.id = Number(r.uint64());
    else if (field === 2 && wireType === LD) request.actions.push(decodeAction(r.bytes(), specs));
    else r.skip(wireType, field);
  }
  if (!Number.isSafeInteger(request.id)) throw new Error(`request id ${request.id} is not a safe integer`);
  return request;
}

function decodeAction(bytes: Uint8Array, specs: SpecInterner): StoreAction {
  const r = new BinaryReader(bytes);
  const action: StoreAction = { action: ObjectAction.UNSPECIFIED, object: undefined };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === WireType.Varint) action.action = r.int32() as ObjectAction;
    else if (field === 2 && wireType === LD) action.object = decodeObject(r.bytes(), specs);
    else r.skip(wireType, field);
  }
  return action;
}

function decodeObject(bytes: Uint8Array, specs: SpecInterner): StoreObject {
  const r = new BinaryReader(bytes);
  let object: StoreObject["object"];
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    const kind = KIND_BY_FIELD.get(field);
    if (kind === undefined || wireType !== LD) {
      r.skip(wireType, field);
      continue;
    }
    const b = r.bytes();
    const value: StoredObject =
      kind === "task"
        ? decodeTask(b, specs)
        : (CODECS[kind] as { decode(x: Uint8Array): StoredObject }).decode(b);
    object = { $case: kind, value } as StoreObject["object"];
  }
  return { object };
}
