export { decodeConfChange, encodeConfChange } from "./conf-change.js";
export { MAX_MESSAGE_BYTES, type RaftConfig } from "./config.js";
export type { ProgressStatus, ProposeRejectReason, ProposeResult, RawNodeApi, Status } from "./core-api.js";
export { RaftErrorCode } from "./errors.js";
// Durable storage, the async driver and the transports: the core above imports none of them.
export * from "./node/index.js";
export { RawNode } from "./raw-node.js";
export { snapshotChunks } from "./snapshot-chunks.js";
export {
  bootstrapLog,
  compactedError,
  limitSize,
  MemoryStorage,
  type Storage,
  unavailableError,
} from "./storage.js";
export * from "./transport/index.js";
export * from "./types.js";
export * from "./wal/index.js";
