import { MemoryStorage, type Storage } from "../storage.js";
import type { ConfState, Entry, HardState, Snapshot } from "../types.js";

/**
 * What the driver needs from storage beyond the core's read side: batched durable writes and
 * snapshot bookkeeping. WalStorage implements it on disk; MemoryDurableStorage in memory.
 */
export interface DurableStorage extends Storage {
  /**
   * Persists one Ready batch; resolves once it is durable (fsynced). With `sync` false (Ready
   * .mustSync false: only the commit index changed) the hard state may be kept in memory and
   * written with the next synced batch — a lost commit index is recomputed after a restart.
   */
  save(
    hardState: HardState | undefined,
    entries: Entry[],
    snapshot?: Snapshot,
    sync?: boolean,
  ): Promise<void>;
  /** Records a snapshot of the state machine at applied index `index`. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot>;
  /** Drops log entries up to `index` (at most the snapshot index). */
  compact(index: number): Promise<void>;
}

/** A DurableStorage that keeps everything in memory (tests; a crash loses it all). */
export class MemoryDurableStorage implements DurableStorage {
  readonly mem: MemoryStorage;

  constructor(mem: MemoryStorage = new MemoryStorage()) {
    this.mem = mem;
  }

  static bootstrap(voters: number[]): MemoryDurableStorage {
    return new MemoryDurableStorage(MemoryStorage.bootstrap(voters));
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.mem.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.mem.entries(lo, hi, maxBytes);
  }
  term(index: number): number {
    return this.mem.term(index);
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  snapshot(): Snapshot {
    return this.mem.snapshot();
  }

  async save(hardState: HardState | undefined, entries: Entry[], snapshot?: Snapshot): Promise<void> {
    if (snapshot !== undefined) this.mem.applySnapshot(snapshot);
    this.mem.append(entries);
    if (hardState !== undefined) this.mem.setHardState(hardState);
  }

  async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.mem.createSnapshot(index, confState, data);
  }

  async compact(index: number): Promise<void> {
    this.mem.compact(Math.min(index, this.mem.snapshot().meta.index));
  }
}
