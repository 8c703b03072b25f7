/** Swarm's limits: a batch sweep commits at most this many changes per transaction… */
export const MAX_CHANGES_PER_TRANSACTION = 200;
/** …and at most this many bytes (also the limit of one `update`). */
export const MAX_TRANSACTION_BYTES = 1.5 * 1024 * 1024;
/** Requests of concurrent writers share one raft entry up to this size (group commit). */
export const MAX_ENTRY_BYTES = 1024 * 1024;
/** A proposal fails with STORE_DEADLINE_EXCEEDED when not applied within this long. */
export const DEFAULT_PROPOSAL_TIMEOUT_MS = 10_000;
