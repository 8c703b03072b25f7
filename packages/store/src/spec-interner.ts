import { TaskSpec } from "@shoal/proto";

/**
 * Tasks carry a copy of their service's template, so 100,000 tasks of 100 services hold 100
 * distinct specs: keep one frozen object per distinct encoding, plus that encoding (snapshots
 * write it as is instead of encoding it per task). Entries go when no task holds the spec any
 * more (weak references), so the table never grows with history.
 */
export class SpecInterner {
  /** Buckets by a cheap sampled hash; candidates are compared byte for byte (natively). */
  private readonly byHash = new Map<number, WeakRef<TaskSpec>[]>();
  private readonly bytesOf = new WeakMap<TaskSpec, Uint8Array>();
  private readonly registry = new FinalizationRegistry<number>((hash) => {
    const bucket = this.byHash.get(hash)?.filter((r) => r.deref() !== undefined);
    if (bucket === undefined || bucket.length === 0) this.byHash.delete(hash);
    else this.byHash.set(hash, bucket);
  });

  /** The shared copy of `spec` (given decoded, or as its encoding `raw`). */
  intern(spec: TaskSpec | undefined, raw?: Uint8Array): TaskSpec {
    if (spec !== undefined && this.bytesOf.has(spec)) return spec; // already the shared copy
    const bytes = raw ?? TaskSpec.encode(spec!).finish();
    const hash = sampledHash(bytes);
    const bucket = this.byHash.get(hash);
    if (bucket !== undefined) {
      for (const ref of bucket) {
        const hit = ref.deref();
        // Buffer's native compare works on any Uint8Array: no Buffer view made per lookup.
        if (hit !== undefined && bufferEquals.call(bytes, this.bytesOf.get(hit)!)) return hit;
      }
    }
    const shared = deepFreeze(spec ?? TaskSpec.decode(bytes));
    this.bytesOf.set(shared, bytes.slice());
    if (bucket === undefined) this.byHash.set(hash, [new WeakRef(shared)]);
    else bucket.push(new WeakRef(shared));
    this.registry.register(shared, hash);
    return shared;
  }

  /** Service labels by their encoding (small: the latin1 string of the bytes is the key). */
  private readonly labelsByBytes = new Map<string, WeakRef<Record<string, string>>>();
  private readonly labelsRegistry = new FinalizationRegistry<string>((key) => {
    if (this.labelsByBytes.get(key)?.deref() === undefined) this.labelsByBytes.delete(key);
  });

  /**
   * The shared, frozen copy of a task's service labels, decoded as `labels` from `raw` (their
   * encoding): every task of a service carries the same labels, so they share one object.
   */
  internLabels(labels: Record<string, string>, raw: Uint8Array): Record<string, string> {
    const key = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("latin1");
    const hit = this.labelsByBytes.get(key)?.deref();
    if (hit !== undefined) return hit;
    Object.freeze(labels);
    this.labelsByBytes.set(key, new WeakRef(labels));
    this.labelsRegistry.register(labels, key);
    return labels;
  }

  /** The encoding of an interned spec (undefined for one that was never interned). */
  encoded(spec: TaskSpec): Uint8Array | undefined {
    return this.bytesOf.get(spec);
  }
}

const bufferEquals = Buffer.prototype.equals as (this: Uint8Array, other: Uint8Array) => boolean;

/** FNV-1a over the length and about 64 evenly spaced bytes: cheap, and collisions only cost a compare. */
function sampledHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5 ^ bytes.byteLength;
  const step = Math.max(1, bytes.byteLength >> 6);
  for (let i = 0; i < bytes.byteLength; i += step) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function deepFreeze<T>(o: T): T {
  if (o === null || typeof o !== "object" || Object.isFrozen(o)) return o;
  if (ArrayBuffer.isView(o)) return o; // typed arrays cannot be frozen; never written either
  for (const v of Object.values(o)) deepFreeze(v);
  return Object.freeze(o);
}
