export { type DurableStorage, MemoryDurableStorage } from "./durable-storage.js";
export { NodeErrorCode } from "./errors.js";
export type { Proposed } from "./pending.js";
export { RaftNode, type RaftNodeOptions } from "./raft-node.js";
