export { WalErrorCode } from "./errors.js";
export { nodeFileSystem, type WalFile, type WalFileSystem } from "./file-system.js";
export { DEFAULT_SEGMENT_BYTES } from "./segment-log.js";
export { type RecoveryReport, WalStorage, type WalStorageOptions } from "./wal-storage.js";
