import { BinaryReader, type BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Task } from "@shoal/proto";
import type { SpecInterner } from "./spec-interner.js";

// Tasks dominate the store (100,000s of them, each with a full copy of its service's template).
// Their spec is written from the interned encoding and read back through the interner, so a spec
// is encoded and decoded once per distinct value, not once per task, in entries and snapshots.

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

/** Decodes a task, sharing its spec through the interner (decoded only the first time seen). */
export function decodeTask(bytes: Uint8Array, specs: SpecInterner): Task {
  const r = new BinaryReader(bytes);
  let rest: Uint8Array[] | undefined;
  let specRaw: Uint8Array | undefined;
  let from = 0;
  while (r.pos < r.len) {
    const start = r.pos;
    const [field, wireType] = r.tag();
    if (field === TASK_SPEC_FIELD && wireType === LD) {
      specRaw = r.bytes();
      rest ??= [];
      rest.push(bytes.subarray(from, start));
      from = r.pos;
    } else r.skip(wireType, field);
  }
  if (rest === undefined) return Task.decode(bytes);
  rest.push(bytes.subarray(from));
  const task = Task.decode(rest.length === 2 && rest[0]!.byteLength === 0 ? rest[1]! : Buffer.concat(rest));
  task.spec = specs.intern(undefined, specRaw);
  return task;
}
