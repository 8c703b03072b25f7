export { type DurableStorage, MemoryDurableStorage } from "./durable-storage.js";
export { NodeErrorCode } from "./errors.js";
export { LeadershipSignal, type LeadershipState } from "./leadership.js";
export {
  DEFAULT_ELECTION_TICKS,
  DEFAULT_HEARTBEAT_TICKS,
  DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
  DEFAULT_SNAPSHOT_ENTRIES,
  DEFAULT_TICK_MS,
  type ResolvedNodeOptions,
  resolveNodeOptions,
} from "./options.js";
export type { Proposed } from "./pending.js";
export { RaftNode, type RaftNodeOptions } from "./raft-node.js";
