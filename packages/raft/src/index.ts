// The pure core only. It imports no I/O: the driver, the WAL and the gRPC transport have their own
// entry points (@shoal/raft/node, /wal, /transport), so importing the core pulls in neither
// grpc-js nor fs (exports.test.ts checks the import graph).
export { decodeConfChange, encodeConfChange } from "./conf-change.js";
export {
  DEFAULT_MAX_COMMITTED_BYTES_PER_READY,
  DEFAULT_MAX_INFLIGHT_MSGS,
  DEFAULT_MAX_SIZE_PER_MSG,
  DEFAULT_MAX_UNCOMMITTED_BYTES,
  DEFAULT_SNAPSHOT_CHUNK_BYTES,
  DEFAULT_SNAPSHOT_RETRY_ELECTIONS,
  MAX_MESSAGE_BYTES,
  type RaftConfig,
} from "./config.js";
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
