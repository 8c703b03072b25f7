import { ShoalError } from "@shoal/base";
import { type Entry, EntryType, type HardState } from "../types.js";
import { WalErrorCode } from "./errors.js";

/**
 * The payload of one WAL frame: a list of records `[u8 type][u32 body length][body]`. A frame is
 * what one `save()` wrote, so replaying frames in order replays the batches in order.
 */
export const RecordType = {
  /** Entries to append; an entry at index i replaces the log from i on (Raft's overwrite rule). */
  Entries: 1,
  HardState: 2,
  /** The log was replaced by the snapshot (index, term) received from the leader. */
  SnapshotInstalled: 3,
} as const;

export type WalRecord =
  | { kind: "entries"; entries: Entry[] }
  | { kind: "hardState"; hardState: HardState }
  | { kind: "snapshotInstalled"; index: number; term: number };

const TWO_32 = 2 ** 32;
const ENTRY_FIXED_BYTES = 8 + 8 + 1 + 4;

function writeU64(buf: Buffer, value: number, off: number): void {
  buf.writeUInt32LE(value >>> 0, off);
  buf.writeUInt32LE(Math.floor(value / TWO_32), off + 4);
}

function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * TWO_32;
}

const typeCode: Record<EntryType, number> = { [EntryType.Normal]: 0, [EntryType.ConfChange]: 1 };
const codeType: EntryType[] = [EntryType.Normal, EntryType.ConfChange];

/** Encodes one batch: an optional snapshot marker first, then entries, then the hard state. */
export function encodeBatch(
  hardState: HardState | undefined,
  entries: readonly Entry[],
  installed?: { index: number; term: number },
): Buffer {
  let size = 0;
  if (installed !== undefined) size += 5 + 16;
  if (entries.length > 0) {
    size += 5 + 4;
    for (const e of entries) size += ENTRY_FIXED_BYTES + e.data.byteLength;
  }
  if (hardState !== undefined) size += 5 + 24;
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  if (installed !== undefined) {
    buf.writeUInt8(RecordType.SnapshotInstalled, off);
    buf.writeUInt32LE(16, off + 1);
    writeU64(buf, installed.index, off + 5);
    writeU64(buf, installed.term, off + 13);
    off += 21;
  }
  if (entries.length > 0) {
    const start = off;
    buf.writeUInt8(RecordType.Entries, off);
    off += 5;
    buf.writeUInt32LE(entries.length, off);
    off += 4;
    for (const e of entries) {
      writeU64(buf, e.index, off);
      writeU64(buf, e.term, off + 8);
      buf.writeUInt8(typeCode[e.type], off + 16);
      buf.writeUInt32LE(e.data.byteLength, off + 17);
      buf.set(e.data, off + ENTRY_FIXED_BYTES);
      off += ENTRY_FIXED_BYTES + e.data.byteLength;
    }
    buf.writeUInt32LE(off - start - 5, start + 1);
  }
  if (hardState !== undefined) {
    buf.writeUInt8(RecordType.HardState, off);
    buf.writeUInt32LE(24, off + 1);
    writeU64(buf, hardState.term, off + 5);
    writeU64(buf, hardState.vote, off + 13);
    writeU64(buf, hardState.commit, off + 21);
    off += 29;
  }
  return buf;
}

function bad(where: string, why: string): ShoalError {
  return new ShoalError(WalErrorCode.BadRecord, `wal record in ${where} cannot be decoded: ${why}`, {
    hint: "the frame passed its checksum, so this log was written by an incompatible version of shoal",
    details: { where },
  });
}

/** Decodes one frame payload. `where` names the frame in errors. Entry data is copied out. */
export function decodeBatch(payload: Buffer, where: string): WalRecord[] {
  const out: WalRecord[] = [];
  let off = 0;
  while (off < payload.length) {
    if (payload.length - off < 5) throw bad(where, `record header cut short at byte ${off}`);
    const type = payload.readUInt8(off);
    const len = payload.readUInt32LE(off + 1);
    const body = off + 5;
    const end = body + len;
    if (end > payload.length) throw bad(where, `record of ${len} bytes at byte ${off} overruns the frame`);
    switch (type) {
      case RecordType.Entries: {
        const count = payload.readUInt32LE(body);
        const entries: Entry[] = [];
        let p = body + 4;
        for (let i = 0; i < count; i++) {
          if (p + ENTRY_FIXED_BYTES > end) throw bad(where, `entry ${i} of ${count} overruns its record`);
          const dataLen = payload.readUInt32LE(p + 17);
          const code = payload.readUInt8(p + 16);
          const entryType = codeType[code];
          if (entryType === undefined) throw bad(where, `unknown entry type ${code}`);
          const dataStart = p + ENTRY_FIXED_BYTES;
          if (dataStart + dataLen > end) throw bad(where, `entry ${i} data overruns its record`);
          entries.push({
            index: readU64(payload, p),
            term: readU64(payload, p + 8),
            type: entryType,
            data: Uint8Array.prototype.slice.call(payload, dataStart, dataStart + dataLen),
          });
          p = dataStart + dataLen;
        }
        out.push({ kind: "entries", entries });
        break;
      }
      case RecordType.HardState:
        if (len !== 24) throw bad(where, `hard state record of ${len} bytes, expected 24`);
        out.push({
          kind: "hardState",
          hardState: {
            term: readU64(payload, body),
            vote: readU64(payload, body + 8),
            commit: readU64(payload, body + 16),
          },
        });
        break;
      case RecordType.SnapshotInstalled:
        if (len !== 16) throw bad(where, `snapshot record of ${len} bytes, expected 16`);
        out.push({
          kind: "snapshotInstalled",
          index: readU64(payload, body),
          term: readU64(payload, body + 8),
        });
        break;
      default:
        throw bad(where, `unknown record type ${type}`);
    }
    off = end;
  }
  return out;
}
