import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import { type Entry, EntryType } from "@shoal/raft";
import { type LeadershipState, RaftNode, type RaftNodeOptions } from "@shoal/raft/node";
import type { Transport } from "@shoal/raft/transport";
import { WalStorage, type WalStorageOptions } from "@shoal/raft/wal";
import { StoreErrorCode } from "./errors.js";
import type { ProposalForwarding } from "./forwarding.js";
import { toStoreError } from "./raft-errors.js";
import { Store, type StoreOptions } from "./store.js";

export interface ReplicatedStoreOptions extends StoreOptions {
  /** This member's raft id. */
  id: number;
  /** Data directory: the WAL in `<dir>/wal`, snapshots in `<dir>/snap`. */
  dir: string;
  /** Voters of a brand-new cluster (ignored once the directory holds state; none to join). */
  bootstrapVoters?: number[];
  /** The raft transport (its owner opens and closes it). */
  transport: Transport;
  /** How proposals made here reach the leader. Without it a follower fails them with STORE_NO_LEADER + hint. */
  forwarding?: ProposalForwarding;
  /** Raft driver settings: tickMs, electionTicks, heartbeatTicks, snapshotEntries (default 10,000), … */
  raft?: Pick<
    RaftNodeOptions,
    | "tickMs"
    | "electionTicks"
    | "heartbeatTicks"
    | "snapshotEntries"
    | "snapshotCatchUpEntries"
    | "readTimeoutMs"
    | "coreConfig"
  >;
  /**
   * WAL settings: `fileSystem` (default the real one — the raft simulator passes its fault-injecting
   * disk) and `segmentBytes`. With `clock` (StoreOptions) this runs the member on a virtual clock.
   */
  wal?: Pick<WalStorageOptions, "fileSystem" | "segmentBytes">;
  /** Called with the milliseconds from each entry proposed here to its commit (for metrics). */
  onCommitLatencyMs?: (ms: number) => void;
}

/**
 * The store replicated on raft: a `Store` whose transactions are proposed through a `RaftNode`
 * over a `WalStorage`. Reads are served from the local replica. Proposals made on a follower are
 * forwarded to the leader (`ProposalForwarding`) and resolve once applied here too. Life cycle:
 * `open()` (opens the WAL) → `run(signal)` (the raft member; resolves when stopped) → `close()`.
 */
export class ReplicatedStore extends Store {
  readonly id: number;
  readonly raft: RaftNode;
  private readonly storage: WalStorage;
  private readonly forwarding: ProposalForwarding | undefined;
  private readonly snapDir: string;
  private readonly onCommitLatencyMs: ((ms: number) => void) | undefined;

  static async open(options: ReplicatedStoreOptions): Promise<ReplicatedStore> {
    const storage = await WalStorage.open({
      ...options.wal,
      dir: options.dir,
      ...(options.bootstrapVoters === undefined ? {} : { bootstrapVoters: options.bootstrapVoters }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    return new ReplicatedStore(options, storage);
  }

  private constructor(options: ReplicatedStoreOptions, storage: WalStorage) {
    super(options);
    this.id = options.id;
    this.storage = storage;
    this.forwarding = options.forwarding;
    this.snapDir = join(options.dir, "snap");
    this.onCommitLatencyMs = options.onCommitLatencyMs;
    this.raft = new RaftNode({
      ...options.raft,
      id: options.id,
      storage,
      transport: options.transport,
      clock: this.clock,
      ...(options.random === undefined ? {} : { random: options.random.split() }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      apply: (entry) => this.applyRaftEntry(entry),
      snapshot: () => this.snapshot(),
      restore: (data) => {
        const meta = this.storage.snapshot().meta;
        this.restore(data, meta.index, join(this.snapDir, snapshotFileName(meta.term, meta.index)));
      },
    });
  }

  /** Runs the raft member until `signal` aborts or `stop()`; rejects if it fails. */
  async run(signal?: AbortSignal): Promise<void> {
    this.forwarding?.serve(this.id, (entry) => this.proposeForwarded(entry));
    try {
      await this.raft.run(signal);
    } finally {
      this.forwarding?.unserve(this.id);
      this.shutDown(`member ${this.id} stopped`);
    }
  }

  async stop(): Promise<void> {
    await this.raft.stop();
  }

  /** Stops the member if running and closes the WAL. */
  async close(): Promise<void> {
    await this.raft.stop();
    await this.storage.close();
  }

  get leader(): number {
    return this.raft.leader;
  }

  isLeader(): boolean {
    return this.raft.isLeader();
  }

  leadershipChanges(signal?: AbortSignal): AsyncIterableIterator<LeadershipState> {
    return this.raft.leadershipChanges(signal);
  }

  protected override proposeEntry(data: Uint8Array, ids: readonly number[]): void {
    const proposedAtMs = this.clock.now();
    // The waiters were settled when the entry was applied; this only times it.
    const committed = () => this.onCommitLatencyMs?.(this.clock.now() - proposedAtMs);
    if (this.raft.isLeader()) {
      this.raft
        .propose(data)
        .then(committed, (err: unknown) => this.failRequests(ids, () => toStoreError(err, this.id)));
      return;
    }
    const leader = this.raft.leader;
    if (leader === 0 || this.forwarding === undefined) {
      this.failRequests(
        ids,
        () =>
          new ShoalError(
            StoreErrorCode.NoLeader,
            leader === 0
              ? "store has no leader"
              : `store member ${this.id} is not the leader (leader is member ${leader})`,
            {
              hint: leader === 0 ? "retry once a leader is elected" : `retry on member ${leader}`,
              details: { leader, member: this.id },
            },
          ),
      );
      return;
    }
    this.forwarding
      .forward(leader, data, 0)
      .then(committed, (err: unknown) => this.failRequests(ids, () => toStoreError(err, this.id)));
  }

  protected override async readBarrier(): Promise<void> {
    try {
      await this.raft.readIndex();
    } catch (err) {
      throw toStoreError(err, this.id);
    }
  }

  /** The leader's side of forwarding: proposes a follower's entry, resolves once applied here. */
  private async proposeForwarded(entry: Uint8Array): Promise<void> {
    try {
      await this.raft.propose(entry);
    } catch (err) {
      throw toStoreError(err, this.id);
    }
  }

  private applyRaftEntry(entry: Entry): void {
    if (entry.type === EntryType.ConfChange) {
      // A member that joins empty can only install a snapshot whose configuration includes it;
      // the leader's RaftNode takes a fresh one when the member needs it (raft's README).
      this.skipEntry(entry.index);
    } else if (entry.data.byteLength === 0) this.skipEntry(entry.index);
    else this.applyEntry(entry.index, entry.data);
  }
}

/** As WalStorage names snapshot files (`<term>-<index>.snap`, 16 hex digits each). */
function snapshotFileName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}.snap`;
}
