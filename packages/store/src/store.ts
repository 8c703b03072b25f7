import {
  type Clock,
  type Logger,
  type Random,
  ShoalError,
  silentLogger,
  systemClock,
  systemRandom,
} from "@shoal/base";
import type { StoreRequest } from "@shoal/proto";
import { applyRequest } from "./apply.js";
import { decodeEntry, encodeEntry } from "./entry-codec.js";
import { StoreErrorCode } from "./errors.js";
import {
  DEFAULT_PROPOSAL_TIMEOUT_MS,
  MAX_CHANGES_PER_TRANSACTION,
  MAX_ENTRY_BYTES,
  MAX_TRANSACTION_BYTES,
} from "./limits.js";
import { type Committed, PendingRequests } from "./pending.js";
import { type ReadTx, readTx } from "./read-tx.js";
import { decodeSnapshot, encodeSnapshot, hashTables, loadSnapshot } from "./snapshot.js";
import { Tables } from "./tables.js";
import { type StoreEvent, type Watch, WatchHub, type WatchOptions } from "./watch.js";
import { ChangeSet, emptyOverlays, type WriteTx, writeTx } from "./write-tx.js";

export interface StoreOptions {
  /** Stamps `meta.createdAtMs/updatedAtMs` of written objects (on the proposer, never in apply). */
  clock?: Clock;
  /** Draws request ids (give each member and incarnation its own; systemRandom does). */
  random?: Random;
  logger?: Logger;
  /** Default deadline of `update` and `batch` transactions. Default DEFAULT_PROPOSAL_TIMEOUT_MS. */
  proposalTimeoutMs?: number;
}

export interface UpdateOptions {
  /** Fails with STORE_DEADLINE_EXCEEDED if not applied here within this long. */
  timeoutMs?: number;
}

export interface ViewOptions {
  /** Wait for a raft ReadIndex first, so the view holds every write acknowledged before the call. */
  linearizable: boolean;
}

/** What `update` resolves with: the callback's value and, when it wrote anything, the commit. */
export interface UpdateResult<R> extends Committed {
  result: R;
}

/** One `batch` sweep: call `update` once per small step; the store packs steps into transactions. */
export interface Batch {
  update(fn: (tx: WriteTx) => void): void;
}

export interface BatchOptions extends UpdateOptions {
  /**
   * Propose every transaction at once instead of each after the one before it committed (they
   * share raft entries through the group commit, in order), for callers whose steps are
   * independent: a failed transaction does not keep the later ones from applying. A transaction
   * that touches an object an earlier one wrote still waits for the ones before it (it is
   * version-checked against their commit).
   */
  pipelined?: boolean;
}

export interface BatchResult {
  /** Transactions committed, in order. */
  transactions: number;
  changes: number;
  /** Index of the last one (0 if nothing was written). */
  index: number;
}

/**
 * The cluster state: typed tables with indexes, transactions with optimistic concurrency,
 * watches and snapshots. On its own (`new Store()`) it is a single in-memory member that applies
 * its own proposals at once — for tests and tools; `ReplicatedStore` runs the same store on raft.
 */
export class Store {
  protected readonly tables = new Tables();
  protected readonly logger: Logger;
  protected readonly clock: Clock;
  private readonly random: Random;
  private readonly pending: PendingRequests;
  private readonly hub = new WatchHub();
  private readonly proposalTimeoutMs: number;
  private queued: { id: number; encoded: Uint8Array }[] = [];
  private flushScheduled = false;
  private appliedIndex = 0;

  constructor(options: StoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom();
    this.logger = (options.logger ?? silentLogger()).child({ module: "store" });
    this.proposalTimeoutMs = options.proposalTimeoutMs ?? DEFAULT_PROPOSAL_TIMEOUT_MS;
    this.pending = new PendingRequests(this.clock);
  }

  /** Index of the last entry applied here. */
  get applied(): number {
    return this.appliedIndex;
  }

  /** Runs `fn` on one consistent version of every table (local replica; see ViewOptions). */
  view<R>(fn: (tx: ReadTx) => R): R;
  view<R>(options: ViewOptions, fn: (tx: ReadTx) => R): Promise<R>;
  view<R>(a: ((tx: ReadTx) => R) | ViewOptions, b?: (tx: ReadTx) => R): R | Promise<R> {
    if (typeof a === "function") return a(readTx(this.tables));
    const fn = b!;
    if (!a.linearizable) return Promise.resolve(fn(readTx(this.tables)));
    return this.readBarrier().then(() => fn(readTx(this.tables)));
  }

  /**
   * Runs `fn` (synchronously) to collect creates, updates and deletes, proposes them as one
   * transaction, and resolves once it is committed and applied here, with the new versions.
   * Rejects with the apply-time failure (STORE_VERSION_CONFLICT, STORE_NAME_CONFLICT, …) — the
   * same on every member — or a proposal failure (STORE_NO_LEADER, STORE_PROPOSAL_DROPPED,
   * STORE_OUTCOME_UNKNOWN, STORE_DEADLINE_EXCEEDED). A throw from `fn` proposes nothing.
   */
  async update<R>(fn: (tx: WriteTx) => R, options: UpdateOptions = {}): Promise<UpdateResult<R>> {
    const set = new ChangeSet();
    const result = fn(writeTx(this.tables, set, () => this.clock.now()));
    if (set.size === 0) return { result, index: this.appliedIndex, changes: [] };
    const id = this.nextRequestId();
    const committed = await this.submit(id, set.encodedRequest(id, this.tables.specs), options.timeoutMs);
    return { result, ...committed };
  }

  /**
   * A large sweep: every `b.update(step)` sees the writes of the steps before it; the steps are
   * committed in order as transactions of at most 200 changes and 1.5 MiB (a step is never
   * split). Stops at the first failed transaction (the ones before it stay committed) and
   * rejects with its error, `details.committedTransactions` saying how many went through.
   * `pipelined` proposes them all at once (see BatchOptions): then it rejects, after every
   * transaction settled, with the first failure, `committedTransactions` counting those that
   * went through.
   */
  async batch(fn: (b: Batch) => void, options: BatchOptions = {}): Promise<BatchResult> {
    const overlays = emptyOverlays();
    const chunks: ChangeSet[] = [];
    let chunk = new ChangeSet(overlays);
    let chunkBytes = 0;
    fn({
      update: (step) => {
        const set = new ChangeSet(overlays);
        step(writeTx(this.tables, set, () => this.clock.now()));
        if (set.size === 0) return;
        // Each step is encoded once: these bytes size the transaction and go into it.
        const bytes = set.encode(this.tables.specs) + 6;
        if (
          chunk.size > 0 &&
          (chunk.size + set.size > MAX_CHANGES_PER_TRANSACTION || chunkBytes + bytes > MAX_TRANSACTION_BYTES)
        ) {
          chunks.push(chunk);
          chunk = new ChangeSet(overlays);
          chunkBytes = 0;
        }
        chunk.absorb(set);
        chunkBytes += bytes;
      },
    });
    if (chunk.size > 0) chunks.push(chunk);
    if (options.pipelined === true) return this.submitPipelined(chunks, options.timeoutMs);
    const rebased = new Map<string, number>();
    let changes = 0;
    let index = 0;
    for (const [i, c] of chunks.entries()) {
      let committed: Committed;
      try {
        const id = this.nextRequestId();
        committed = await this.submit(
          id,
          c.encodedRequest(id, this.tables.specs, rebased),
          options.timeoutMs,
        );
      } catch (err) {
        if (err instanceof ShoalError) err.details.committedTransactions = i;
        throw err;
      }
      for (const key of c.keys()) rebased.set(key, committed.index);
      changes += committed.changes.length;
      index = committed.index;
    }
    return { transactions: chunks.length, changes, index };
  }

  /**
   * The transactions of a pipelined batch: each proposed at once unless it touches an object of
   * an earlier one (then after those before it settled, against their commit). A 10,000-task
   * reschedule was 100 transactions one raft round after another: 60 s of a 100,000-task
   * cluster's node loss.
   */
  private async submitPipelined(chunks: readonly ChangeSet[], timeoutMs?: number): Promise<BatchResult> {
    const rebased = new Map<string, number>();
    const written = new Set<string>();
    const outcomes: Promise<Committed>[] = [];
    for (const c of chunks) {
      const keys = [...c.keys()];
      if (keys.some((k) => written.has(k))) {
        const before = await Promise.allSettled(outcomes);
        for (const [i, o] of before.entries())
          if (o.status === "fulfilled") for (const k of chunks[i]!.keys()) rebased.set(k, o.value.index);
      }
      for (const k of keys) written.add(k);
      const id = this.nextRequestId();
      const outcome = this.submit(id, c.encodedRequest(id, this.tables.specs, rebased), timeoutMs);
      outcome.catch(() => {}); // settled below; not an unhandled rejection meanwhile
      outcomes.push(outcome);
    }
    const settled = await Promise.allSettled(outcomes);
    let transactions = 0;
    let changes = 0;
    let index = 0;
    let failure: unknown;
    for (const o of settled) {
      if (o.status === "rejected") {
        failure ??= o.reason;
        continue;
      }
      transactions++;
      changes += o.value.changes.length;
      index = Math.max(index, o.value.index);
    }
    if (failure !== undefined) {
      if (failure instanceof ShoalError) failure.details.committedTransactions = transactions;
      throw failure;
    }
    return { transactions, changes, index };
  }

  /** Every event applied after this call, until `options.signal` aborts or the watch is closed. */
  watch(options: WatchOptions = {}): Watch {
    return this.hub.subscribe(options);
  }

  /** A consistent view and every event after it: no gap, no duplicate. */
  viewAndWatch<R>(
    fn: (tx: ReadTx) => R,
    options: WatchOptions = {},
  ): { result: R; events: AsyncIterableIterator<StoreEvent> } {
    // Both in one synchronous turn: no entry can be applied between the view and the subscription.
    const result = fn(readTx(this.tables));
    return { result, events: this.hub.subscribe(options) };
  }

  /** SHA-256 of every object of every table (in kind and id order): equal on agreeing members. */
  stateHash(): string {
    return hashTables(this.tables);
  }

  /** The whole store encoded with the proto codecs (StoreSnapshot). */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.tables);
  }

  /**
   * Replaces the whole state with a snapshot taken at `index`. Watchers are closed with
   * STORE_WATCH_LAGGED (they resync). Throws STORE_SNAPSHOT_CORRUPT, changing nothing, when the
   * bytes do not decode; `source` names where they came from (a file) in that message.
   */
  restore(data: Uint8Array, index: number, source = "data"): void {
    const snap = decodeSnapshot(data, source, this.tables.specs);
    loadSnapshot(this.tables, snap);
    this.appliedIndex = index;
    this.hub.failAll(
      () =>
        new ShoalError(StoreErrorCode.WatchLagged, `store was replaced by a snapshot at index ${index}`, {
          hint: "resync with viewAndWatch",
          details: { index },
        }),
    );
  }

  /**
   * Applies one committed raft entry: each transaction in it applies or fails on its own, the
   * waiting writers learn their outcome, then watchers get the changes and a commit event.
   * An entry that does not decode is a broken invariant: it throws STORE_ENTRY_CORRUPT (the raft
   * member stops) after logging the index.
   */
  applyEntry(index: number, data: Uint8Array): void {
    let requests: StoreRequest[];
    try {
      requests = decodeEntry(data, this.tables.specs);
    } catch (err) {
      this.logger.error(
        { err, index, bytes: data.byteLength },
        `raft entry ${index} is not a store transaction; stopping`,
      );
      throw new ShoalError(StoreErrorCode.EntryCorrupt, `raft entry ${index} is not a store transaction`, {
        cause: err,
        hint: "the log is damaged or was written by an incompatible version; restore this member from a backup or rejoin it empty",
        details: { index },
      });
    }
    const events: StoreEvent[] = [];
    for (const r of requests) {
      const outcome = applyRequest(this.tables, r.actions, index);
      if (outcome.ok) {
        for (const c of outcome.changes) events.push({ ...c, kind: "change", index });
        this.pending.resolve(r.id, { index, changes: outcome.changes });
      } else {
        this.pending.reject(r.id, outcome.error);
      }
    }
    this.appliedIndex = index;
    events.push({ kind: "commit", index });
    this.hub.publish(events);
  }

  /** Records an applied entry that carries no store data (raft no-ops and membership changes). */
  protected skipEntry(index: number): void {
    this.appliedIndex = index;
  }

  /** Ends every watch and rejects every waiting writer (the store is going away). */
  protected shutDown(reason: string): void {
    this.pending.rejectAll(() => new ShoalError(StoreErrorCode.Closed, `store closed: ${reason}`));
    this.hub.endAll();
  }

  // ---- proposing -------------------------------------------------------------------------------

  /**
   * Hands one encoded entry (the requests `ids`) to consensus. The in-memory store applies it at
   * once; ReplicatedStore proposes it to raft and fails the ids with `failRequests` if it does
   * not get in.
   */
  protected proposeEntry(data: Uint8Array, _ids: readonly number[]): void {
    this.applyEntry(this.appliedIndex + 1, data);
  }

  /** Resolves once a linearizable read may be served locally. */
  protected readBarrier(): Promise<void> {
    return Promise.resolve();
  }

  protected failRequests(ids: readonly number[], error: () => ShoalError): void {
    for (const id of ids) this.pending.reject(id, error());
  }

  /** Proposes one encoded request (`id` is its request id). */
  private submit(id: number, encoded: Uint8Array, timeoutMs = this.proposalTimeoutMs): Promise<Committed> {
    const bytes = encoded.byteLength;
    if (bytes > MAX_TRANSACTION_BYTES)
      return Promise.reject(
        new ShoalError(
          StoreErrorCode.TransactionTooLarge,
          `store transaction of ${bytes} bytes is over the ${MAX_TRANSACTION_BYTES}-byte limit`,
          { hint: "split the work with batch()", details: { bytes, limit: MAX_TRANSACTION_BYTES } },
        ),
      );
    const done = this.pending.add(id, timeoutMs);
    this.queued.push({ id, encoded });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Group commit: every writer that submits in this turn shares the entry.
      queueMicrotask(() => this.flush());
    }
    return done;
  }

  private flush(): void {
    this.flushScheduled = false;
    const queued = this.queued;
    this.queued = [];
    let group: Uint8Array[] = [];
    let ids: number[] = [];
    let groupBytes = 0;
    const send = () => {
      if (group.length === 0) return;
      this.proposeEntry(encodeEntry(group), ids);
      group = [];
      ids = [];
      groupBytes = 0;
    };
    for (const q of queued) {
      if (!this.pending.has(q.id)) continue; // timed out already
      if (groupBytes + q.encoded.byteLength > MAX_ENTRY_BYTES) send();
      group.push(q.encoded);
      ids.push(q.id);
      groupBytes += q.encoded.byteLength;
    }
    send();
  }

  private nextRequestId(): number {
    // 53 random bits: unique across members and incarnations with overwhelming probability.
    return this.random.int(2 ** 21) * 2 ** 32 + this.random.int(2 ** 32);
  }
}
