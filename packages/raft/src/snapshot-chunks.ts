import type { SnapMessage, Snapshot, SnapshotMeta } from "./types.js";

/**
 * InstallSnapshot travels as chunks so no message exceeds the transport limit. The follower
 * assembles them in order; a gap (a lost chunk) drops the assembly and the leader resends the
 * whole snapshot after its retry timeout.
 */
export function snapshotChunks(
  snap: Snapshot,
  chunkBytes: number,
  from: number,
  to: number,
  term: number,
): SnapMessage[] {
  const total = snap.data.byteLength;
  const out: SnapMessage[] = [];
  let offset = 0;
  do {
    const end = Math.min(total, offset + chunkBytes);
    out.push({
      type: "snap",
      from,
      to,
      term,
      meta: snap.meta,
      offset,
      data: snap.data.subarray(offset, end),
      totalBytes: total,
      done: end === total,
    });
    offset = end;
  } while (offset < total);
  return out;
}

export class SnapshotAssembly {
  private meta: SnapshotMeta | undefined;
  private buffer: Uint8Array | undefined;
  private received = 0;

  /** Adds one chunk; returns the complete snapshot when this chunk finished it. */
  add(m: SnapMessage): Snapshot | undefined {
    if (m.offset === 0) {
      this.meta = m.meta;
      this.buffer = new Uint8Array(m.totalBytes);
      this.received = 0;
    } else if (
      this.meta === undefined ||
      this.meta.index !== m.meta.index ||
      this.meta.term !== m.meta.term ||
      this.received !== m.offset ||
      this.buffer?.byteLength !== m.totalBytes
    ) {
      this.reset();
      return undefined;
    }
    const buf = this.buffer as Uint8Array;
    if (m.offset + m.data.byteLength > buf.byteLength) {
      this.reset();
      return undefined;
    }
    buf.set(m.data, m.offset);
    this.received += m.data.byteLength;
    if (!m.done) return undefined;
    const meta = this.meta as SnapshotMeta;
    const complete = this.received === buf.byteLength;
    this.reset();
    return complete ? { meta, data: buf } : undefined;
  }

  reset(): void {
    this.meta = undefined;
    this.buffer = undefined;
    this.received = 0;
  }
}
