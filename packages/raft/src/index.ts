export { MAX_MESSAGE_BYTES, type RaftConfig } from "./config.js";
export type { ProgressStatus, ProposeRejectReason, ProposeResult, RawNodeApi, Status } from "./core-api.js";
export { RaftErrorCode } from "./errors.js";
export { compactedError, limitSize, MemoryStorage, type Storage, unavailableError } from "./storage.js";
export * from "./types.js";
