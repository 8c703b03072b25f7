import { TaskSpec } from "@shoal/proto";

/**
 * Tasks carry a copy of their service's template, so 100,000 tasks of 100 services hold 100
 * distinct specs: keep one frozen object per distinct encoding, plus that encoding (snapshots
 * write it as is instead of encoding it per task). Entries go when no task holds the spec any
 * more (weak references), so the table never grows with history.
 */
export class SpecInterner {
  private readonly byBytes = new Map<string, WeakRef<TaskSpec>>();
  private readonly bytesOf = new WeakMap<TaskSpec, Uint8Array>();
  private readonly registry = new FinalizationRegistry<string>((key) => {
    if (this.byBytes.get(key)?.deref() === undefined) this.byBytes.delete(key);
  });

  /** The shared copy of `spec` (given decoded, or as its encoding `raw`). */
  intern(spec: TaskSpec | undefined, raw?: Uint8Array): TaskSpec {
    if (spec !== undefined && this.bytesOf.has(spec)) return spec; // already the shared copy
    const bytes = raw ?? TaskSpec.encode(spec!).finish();
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    const hit = this.byBytes.get(key)?.deref();
    if (hit !== undefined) return hit;
    const shared = deepFreeze(spec ?? TaskSpec.decode(bytes));
    this.byBytes.set(key, new WeakRef(shared));
    this.bytesOf.set(shared, bytes.slice());
    this.registry.register(shared, key);
    return shared;
  }

  /** The encoding of an interned spec (undefined for one that was never interned). */
  encoded(spec: TaskSpec): Uint8Array | undefined {
    return this.bytesOf.get(spec);
  }

  get size(): number {
    return this.byBytes.size;
  }
}

function deepFreeze<T>(o: T): T {
  if (o === null || typeof o !== "object" || Object.isFrozen(o)) return o;
  if (ArrayBuffer.isView(o)) return o; // typed arrays cannot be frozen; never written either
  for (const v of Object.values(o)) deepFreeze(v);
  return Object.freeze(o);
}
