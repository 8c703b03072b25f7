export { WalErrorCode } from "./errors.js";
export { DEFAULT_SEGMENT_BYTES } from "./segment-log.js";
export { type RecoveryReport, WalStorage, type WalStorageOptions } from "./wal-storage.js";
