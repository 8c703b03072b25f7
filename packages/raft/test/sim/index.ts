// `@shoal/raft/sim`: the production-driver simulator's building blocks, for packages that run
// their own state machine on it (the store's sweep): one virtual clock and event queue, a
// process per server (timers drifted, gated by crashes and pauses), and a disk that loses
// unsynced writes on power loss (a WalFileSystem for WalStorage). Test-only: exported with the
// `shoal-source` condition, never built into dist.
export { EventQueue } from "./event-queue.js";
export { type CrashPoint, FaultDisk, type MountHooks } from "./fault-fs.js";
export { Partitions } from "./partitions.js";
export { SimProcess } from "./sim-process.js";
