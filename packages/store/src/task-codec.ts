import { BinaryReader, type BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  Endpoint,
  GenericResource,
  Meta,
  NetworkAttachment,
  RegistryAuth,
  Task,
  Task_ServiceLabelsEntry,
  type TaskState,
  TaskStatus,
} from "@shoal/proto";
import type { SpecInterner } from "./spec-interner.js";

// Tasks dominate the store (100,000s of them, each with a full copy of its service's template).
// Their spec is written from the interned encoding and read back through the interner, so a spec
// is encoded and decoded once per distinct value, not once per task, in entries and snapshots.
// The decoder is written by hand (same result as Task.decode) so that one pass reads a task:
// no second reader, no copy of the bytes around the spec, and the service labels — identical
// on every task of a service — shared through the interner as one frozen object.

const TASK_SPEC_FIELD = 3;
const LD = WireType.LengthDelimited;

/** Writes `task`'s fields into `w` (no length prefix; the caller forks). */
export function encodeTask(task: Task, w: BinaryWriter, specs: SpecInterner): void {
  const raw = task.spec === undefined ? undefined : specs.encoded(task.spec);
  if (raw === undefined) Task.encode(task, w);
  else
    Task.encode({ ...task, spec: undefined }, w)
      .uint32((TASK_SPEC_FIELD << 3) | LD)
      .bytes(raw);
}

/** Decodes a task, sharing its spec and service labels through the interner. */
export function decodeTask(bytes: Uint8Array, specs: SpecInterner): Task {
  const r = new BinaryReader(bytes);
  const t: Task = {
    id: "",
    meta: undefined,
    spec: undefined,
    specVersion: 0,
    serviceId: "",
    slot: 0,
    nodeId: "",
    name: "",
    serviceLabels: {},
    status: undefined,
    desiredState: 0,
    networks: [],
    endpoint: undefined,
    assignedGenericResources: [],
    jobIteration: undefined,
    address: "",
    restartAtMs: 0,
    restartHistoryMs: [],
    registryAuth: undefined,
  };
  let labelsFrom = -1;
  let labelsTo = -1;
  let labelsContiguous = true;
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    switch (tag) {
      case 10:
        t.id = r.string();
        break;
      case 18:
        t.meta = Meta.decode(r, r.uint32());
        break;
      case 26:
        t.spec = specs.intern(undefined, r.bytes());
        break;
      case 32:
        t.specVersion = safeNumber(r.uint64());
        break;
      case 42:
        t.serviceId = r.string();
        break;
      case 48:
        t.slot = safeNumber(r.int64());
        break;
      case 58:
        t.nodeId = r.string();
        break;
      case 66:
        t.name = r.string();
        break;
      case 74: {
        if (labelsFrom < 0) labelsFrom = start;
        else if (labelsTo !== start) labelsContiguous = false;
        const e = Task_ServiceLabelsEntry.decode(r, r.uint32());
        if (e.value !== undefined) t.serviceLabels[e.key] = e.value;
        labelsTo = r.pos;
        break;
      }
      case 82:
        t.status = TaskStatus.decode(r, r.uint32());
        break;
      case 88:
        t.desiredState = r.int32() as TaskState;
        break;
      case 98:
        t.networks.push(NetworkAttachment.decode(r, r.uint32()));
        break;
      case 106:
        t.endpoint = Endpoint.decode(r, r.uint32());
        break;
      case 114:
        t.assignedGenericResources.push(GenericResource.decode(r, r.uint32()));
        break;
      case 120:
        t.jobIteration = safeNumber(r.uint64());
        break;
      case 130:
        t.address = r.string();
        break;
      case 136:
        t.restartAtMs = safeNumber(r.int64());
        break;
      case 144:
        t.restartHistoryMs.push(safeNumber(r.int64()));
        break;
      case 146: {
        const end = r.uint32() + r.pos;
        while (r.pos < end) t.restartHistoryMs.push(safeNumber(r.int64()));
        break;
      }
      case 154:
        t.registryAuth = RegistryAuth.decode(r, r.uint32());
        break;
      case 160:
        t.upAtMs = safeNumber(r.int64());
        break;
      default:
        if ((tag & 7) === 4 || tag === 0) return t; // end group / zero tag, as Task.decode
        r.skip(tag & 7, tag >>> 3);
    }
  }
  if (labelsFrom >= 0 && labelsContiguous)
    t.serviceLabels = specs.internLabels(t.serviceLabels, bytes.subarray(labelsFrom, labelsTo));
  return t;
}

function safeNumber(v: bigint | string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`integer ${v} is outside the safe range`);
  return n;
}
