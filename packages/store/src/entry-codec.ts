import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { StoreRequest } from "@shoal/proto";

// One raft entry carries one or more store transactions (group commit: the requests of concurrent
// writers that arrive together share an entry, an fsync and a replication round). Each request
// still applies, or fails, on its own. The encoding is that of
//   message StoreBatch { repeated StoreRequest requests = 1; }
// so a proto-aware tool can read the log.

export function encodeEntry(requests: readonly StoreRequest[]): Uint8Array {
  const w = new BinaryWriter();
  for (const r of requests)
    StoreRequest.encode(r, w.uint32((1 << 3) | WireType.LengthDelimited).fork()).join();
  return w.finish();
}

/** Throws on bytes that are not a StoreBatch (the caller treats that as a broken invariant). */
export function decodeEntry(data: Uint8Array): StoreRequest[] {
  const r = new BinaryReader(data);
  const out: StoreRequest[] = [];
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field !== 1 || wireType !== WireType.LengthDelimited)
      throw new Error(`unexpected field ${field} (wire type ${wireType}) at byte ${r.pos}`);
    out.push(StoreRequest.decode(r.bytes()));
  }
  return out;
}

/** Encoded size of one request inside an entry (for the transaction and batch limits). */
export function requestBytes(request: StoreRequest): number {
  return StoreRequest.encode(request).finish().byteLength + 6;
}
