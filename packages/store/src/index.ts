// @shoal/store: the cluster state (tables, indexes, transactions, watches, snapshots), in memory
// (`Store`) or replicated on @shoal/raft (`ReplicatedStore`). See README.md.
export type { Change, ChangeAction } from "./change.js";
export { StoreErrorCode } from "./errors.js";
export { LocalForwarding, type ProposalForwarding } from "./forwarding.js";
export { KINDS, type Kind, type ObjectByKind, type StoredObject } from "./kinds.js";
export {
  DEFAULT_PROPOSAL_TIMEOUT_MS,
  MAX_CHANGES_PER_TRANSACTION,
  MAX_ENTRY_BYTES,
  MAX_TRANSACTION_BYTES,
} from "./limits.js";
export type { Committed } from "./pending.js";
export type { KindReader, ReadTx } from "./read-tx.js";
export { ReplicatedStore, type ReplicatedStoreOptions } from "./replicated-store.js";
export {
  type Batch,
  type BatchOptions,
  type BatchResult,
  Store,
  type StoreOptions,
  type UpdateOptions,
  type UpdateResult,
  type ViewOptions,
} from "./store.js";
export { slotKey } from "./tables/tasks.js";
export type { IndexByKind } from "./tables.js";
export {
  type ChangeEvent,
  type CommitEvent,
  DEFAULT_WATCH_QUEUE_EVENTS,
  type StoreEvent,
  type Watch,
  type WatchFilter,
  type WatchOptions,
} from "./watch.js";
export type { KindWriter, WriteTx } from "./write-tx.js";
