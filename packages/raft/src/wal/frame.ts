import { crc32 } from "node:zlib";

/**
 * Byte framing of WAL segments. One frame is written per `save()` call (one Ready batch), so a
 * batch is atomic on disk: its CRC covers everything in it, and a crash can only tear the frame
 * that was being written when it happened.
 *
 *   offset 0  u32 magic  "SWAL" — lets recovery find frame starts after damaged bytes
 *          4  u32 payload length
 *          8  u32 CRC32 of bytes [4,8) and [12, end) (length, sequence and payload)
 *         12  u64 sequence number, +1 per frame across all segments (detects lost frames/segments)
 *         20  payload
 */
export const FRAME_MAGIC = 0x5357414c;
export const FRAME_HEADER_BYTES = 20;
/** Upper bound for one frame; anything larger in a length field is damage, not data. */
export const MAX_FRAME_PAYLOAD_BYTES = 1024 * 1024 * 1024;

const magicBytes = Buffer.alloc(4);
magicBytes.writeUInt32LE(FRAME_MAGIC, 0);

export function encodeFrame(seq: bigint, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32LE(FRAME_MAGIC, 0);
  out.writeUInt32LE(payload.length, 4);
  out.writeBigUInt64LE(seq, 12);
  out.set(payload, FRAME_HEADER_BYTES);
  out.writeUInt32LE(frameCrc(out, 0, payload.length), 8);
  return out;
}

function frameCrc(buf: Buffer, off: number, payloadLen: number): number {
  const lenCrc = crc32(buf.subarray(off + 4, off + 8));
  return crc32(buf.subarray(off + 12, off + FRAME_HEADER_BYTES + payloadLen), lenCrc);
}

export interface Frame {
  seq: bigint;
  /** Byte offset of the frame start in its segment. */
  offset: number;
  payload: Buffer;
}

export interface FrameDamage {
  /** Offset where the first bad frame starts; everything before it is valid. */
  offset: number;
  reason: string;
  /**
   * Whether a valid frame with a later sequence number follows the damage. Only the frame being
   * written at a crash can be torn (each earlier frame was fsynced before the next was written),
   * so damage followed by valid data is corruption of durable data, never a torn write.
   */
  followedByValid: boolean;
}

export interface ScanResult {
  frames: Frame[];
  /** Offset just after the last valid frame. */
  validEnd: number;
  damage?: FrameDamage;
}

/** Checks a frame at `off`; returns its payload length when it is whole and its CRC matches. */
function validFrameAt(buf: Buffer, off: number): number | undefined {
  if (buf.length - off < FRAME_HEADER_BYTES) return undefined;
  if (buf.readUInt32LE(off) !== FRAME_MAGIC) return undefined;
  const len = buf.readUInt32LE(off + 4);
  if (len > MAX_FRAME_PAYLOAD_BYTES || off + FRAME_HEADER_BYTES + len > buf.length) return undefined;
  if (frameCrc(buf, off, len) !== buf.readUInt32LE(off + 8)) return undefined;
  return len;
}

/**
 * Reads every valid frame of one segment from the start. Stops at the first damaged frame and
 * reports whether valid frames follow it, which decides between "torn tail" and "corruption".
 * `firstSeq`, when known, is the sequence number the first frame must carry.
 */
export function scanFrames(buf: Buffer, firstSeq?: bigint): ScanResult {
  const frames: Frame[] = [];
  let off = 0;
  let expected = firstSeq;
  while (off < buf.length) {
    const reason = describeDamage(buf, off, expected);
    if (reason !== undefined) {
      const lastSeq = frames.length > 0 ? frames[frames.length - 1]!.seq : (firstSeq ?? 0n) - 1n;
      return {
        frames,
        validEnd: off,
        damage: { offset: off, reason, followedByValid: validFrameAfter(buf, off + 1, lastSeq) },
      };
    }
    const len = buf.readUInt32LE(off + 4);
    const seq = buf.readBigUInt64LE(off + 12);
    frames.push({
      seq,
      offset: off,
      payload: buf.subarray(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + len),
    });
    expected = seq + 1n;
    off += FRAME_HEADER_BYTES + len;
  }
  return { frames, validEnd: off };
}

function describeDamage(buf: Buffer, off: number, expected: bigint | undefined): string | undefined {
  const left = buf.length - off;
  if (left < FRAME_HEADER_BYTES) return `frame header cut short (${left} of ${FRAME_HEADER_BYTES} bytes)`;
  const magic = buf.readUInt32LE(off);
  if (magic !== FRAME_MAGIC) {
    return magic === 0 ? "zero bytes where a frame should start" : `bad frame magic 0x${magic.toString(16)}`;
  }
  const len = buf.readUInt32LE(off + 4);
  if (len > MAX_FRAME_PAYLOAD_BYTES)
    return `frame length ${len} exceeds the ${MAX_FRAME_PAYLOAD_BYTES}-byte limit`;
  if (off + FRAME_HEADER_BYTES + len > buf.length) {
    return `frame of ${len} bytes runs past the end of the file (${left - FRAME_HEADER_BYTES} bytes present)`;
  }
  if (frameCrc(buf, off, len) !== buf.readUInt32LE(off + 8)) return "frame checksum mismatch";
  const seq = buf.readBigUInt64LE(off + 12);
  if (expected !== undefined && seq !== expected)
    return `frame sequence ${seq} where ${expected} was expected`;
  return undefined;
}

/** Whether any whole, checksum-valid frame with a sequence above `afterSeq` starts at or after `from`. */
function validFrameAfter(buf: Buffer, from: number, afterSeq: bigint): boolean {
  let pos = buf.indexOf(magicBytes, from);
  while (pos !== -1) {
    if (validFrameAt(buf, pos) !== undefined && buf.readBigUInt64LE(pos + 12) > afterSeq) return true;
    pos = buf.indexOf(magicBytes, pos + 1);
  }
  return false;
}
