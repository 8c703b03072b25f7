export { decodeConfChange, encodeConfChange } from "./conf-change.js";
export { MAX_MESSAGE_BYTES, type RaftConfig } from "./config.js";
export type { ProgressStatus, ProposeRejectReason, ProposeResult, RawNodeApi, Status } from "./core-api.js";
export { RaftErrorCode } from "./errors.js";
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
export * from "./types.js";
