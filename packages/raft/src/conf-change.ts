import { ShoalError } from "@shoal/base";
import { RaftErrorCode } from "./errors.js";
import { type ConfChange, ConfChangeType } from "./types.js";

/**
 * ConfChange entries carry this compact encoding: [kind byte][id as 8-byte float][context...].
 * Ids are < 2^53, so a float64 holds them exactly.
 */
const KIND: Record<ConfChangeType, number> = { addVoter: 1, addLearner: 2, removeNode: 3 };
const BY_KIND: Record<number, ConfChangeType> = {
  1: ConfChangeType.AddVoter,
  2: ConfChangeType.AddLearner,
  3: ConfChangeType.RemoveNode,
};

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const ctx = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(9 + ctx.byteLength);
  out[0] = KIND[cc.type];
  new DataView(out.buffer).setFloat64(1, cc.nodeId);
  out.set(ctx, 9);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const type = BY_KIND[data[0] ?? 0];
  if (type === undefined || data.byteLength < 9) {
    throw new ShoalError(
      RaftErrorCode.Invariant,
      `raft conf change entry of ${data.byteLength} bytes is malformed`,
    );
  }
  const nodeId = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(1);
  const cc: ConfChange = { type, nodeId };
  if (data.byteLength > 9) cc.context = data.slice(9);
  return cc;
}
