import { join } from "node:path";
import { type Logger, ShoalError, silentLogger } from "@shoal/base";
import { bootstrapLog, MemoryStorage, type Storage } from "../storage.js";
import { type ConfState, type Entry, emptyHardState, type HardState, type Snapshot } from "../types.js";
import { WalErrorCode } from "./errors.js";
import { nodeFileSystem, type WalFileSystem } from "./file-system.js";
import { fsyncAncestors, fsyncDir, mkdirDurable } from "./fs-util.js";
import { decodeBatch, encodeBatch } from "./records.js";
import { type OpenedSegmentLog, SegmentLog } from "./segment-log.js";
import { loadNewestSnapshot, pruneSnapshotFiles, writeSnapshotFile } from "./snapshot-files.js";

export interface WalStorageOptions {
  /** Data directory; the log goes to `<dir>/wal`, snapshots to `<dir>/snap`. */
  dir: string;
  /** Segment size before a new one is started. Default 64 MiB. */
  segmentBytes?: number;
  /** Snapshot files kept; the log is kept back to the oldest of them. Default 2. */
  keepSnapshots?: number;
  logger?: Logger;
  /**
   * Voters of a brand-new cluster. Used only while the directory holds no state at all: the
   * bootstrap log (one committed addVoter entry per member, see bootstrapLog) is written as the
   * first batch, exactly like MemoryStorage.bootstrap. A joining member passes none and learns the
   * membership from the leader's log or snapshot.
   */
  bootstrapVoters?: number[];
  /** The file layer; default node:fs. The simulator passes one that injects disk faults. */
  fileSystem?: WalFileSystem;
}

export interface RecoveryReport {
  /** The directory held no log; a new one was created. */
  created: boolean;
  /** A torn tail (a batch that was never acknowledged) was cut off the last segment. */
  truncatedTail?: { path: string; offset: number; reason: string };
  /** Damaged snapshot files that were skipped in favour of an older one. */
  skippedSnapshots: { path: string; error: string }[];
  /** Frames replayed from the log. */
  frames: number;
}

/**
 * The core's Storage, made durable. Reads come from an in-memory copy of the log (a
 * MemoryStorage); `save()` writes one frame per Ready batch, fdatasyncs it, and only then updates
 * the in-memory copy, so the core never reads anything that is not on disk.
 *
 * Durability contract: when `save()` resolves, its hard state, entries and snapshot survive a
 * crash or power loss. The caller must not send the Ready's messages before that (votes and
 * append acks promise durability). Calls are serialized; they may overlap in time.
 */
export class WalStorage implements Storage {
  readonly recovery: RecoveryReport;
  private readonly mem: MemoryStorage;
  private hs: HardState;
  private readonly log: SegmentLog;
  private readonly snapDir: string;
  private readonly keepSnapshots: number;
  private readonly logger: Logger;
  private readonly fs: WalFileSystem;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** A commit-only hard state change was saved without sync and is not on disk yet. */
  private hsUnwritten = false;

  private constructor(init: {
    mem: MemoryStorage;
    hs: HardState;
    log: SegmentLog;
    snapDir: string;
    options: WalStorageOptions;
    recovery: RecoveryReport;
  }) {
    this.mem = init.mem;
    this.hs = init.hs;
    this.log = init.log;
    this.snapDir = init.snapDir;
    this.keepSnapshots = Math.max(1, init.options.keepSnapshots ?? 2);
    this.logger = init.options.logger ?? silentLogger();
    this.recovery = init.recovery;
    this.fs = init.options.fileSystem ?? nodeFileSystem;
  }

  /**
   * Opens (or creates) the storage in `options.dir` and replays it. Refuses with a ShoalError
   * (RAFT_WAL_*) when the log is damaged anywhere but its tail or a segment is missing; never
   * returns a log that contains damaged data.
   */
  static async open(options: WalStorageOptions): Promise<WalStorage> {
    const logger = options.logger ?? silentLogger();
    const walDir = join(options.dir, "wal");
    const snapDir = join(options.dir, "snap");
    const fs = options.fileSystem ?? nodeFileSystem;
    await mkdirDurable(fs, walDir);
    await mkdirDurable(fs, snapDir);

    // A process that died before fsyncing a directory leaves entries (a renamed snapshot file, a
    // new wal/ or snap/, the data directory itself) that this incarnation sees but a power loss
    // could still take away.
    await fsyncDir(fs, options.dir);
    await fsyncAncestors(fs, options.dir);
    await fsyncDir(fs, snapDir);
    const { snapshot, skipped } = await loadNewestSnapshot(fs, snapDir, logger);
    const hadLog = (await fs.readdir(walDir)).some((n) => n.endsWith(".wal") || n === "wal.meta");
    if (!hadLog && snapshot !== undefined) {
      throw new ShoalError(
        WalErrorCode.MissingSegment,
        `wal directory "${walDir}" is empty but snapshot ${snapshot.meta.index} exists in "${snapDir}"`,
        {
          hint: "the log (with the term and vote) was lost; restore it from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
          details: { path: walDir, snapshotIndex: snapshot.meta.index },
        },
      );
    }
    const snapIndex = snapshot?.meta.index ?? 0;
    const opened: OpenedSegmentLog = await SegmentLog.open(
      walDir,
      { firstIndex: snapIndex + 1, payload: encodeBatch(emptyHardState(), []) },
      {
        ...(options.segmentBytes !== undefined ? { segmentBytes: options.segmentBytes } : {}),
        snapshotIndex: snapIndex,
        fileSystem: fs,
        logger,
      },
    );

    const mem = new MemoryStorage();
    if (snapshot !== undefined) mem.applySnapshot(snapshot);
    let hs = emptyHardState();
    /** Term of the entry the replayed log holds at the snapshot's index, when the log has one. */
    let termAtSnap: number | undefined;
    try {
      opened.payloads.forEach((payload, i) => {
        for (const rec of decodeBatch(payload, `frame ${i} of "${walDir}"`)) {
          if (rec.kind === "hardState") hs = rec.hardState;
          else if (rec.kind === "entries") {
            const first = rec.entries[0];
            if (first !== undefined && first.index <= snapIndex) {
              // This batch (re)wrote the log at or below the snapshot index: remember which term
              // the log now holds at that index (none, if the batch ends below it).
              termAtSnap = rec.entries.find((e) => e.index === snapIndex)?.term;
            }
            appendReplayed(mem, rec.entries, walDir, skipped);
          } else if (rec.index > snapIndex) {
            throw new ShoalError(
              WalErrorCode.Gap,
              `wal records snapshot ${rec.index} (term ${rec.term}) being installed but the newest readable snapshot in "${snapDir}" is ${snapIndex}`,
              {
                hint: "the snapshot file was lost or damaged; restore it from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
                details: { path: snapDir, snapshotIndex: rec.index, skippedSnapshots: skipped },
              },
            );
          } else {
            // The log before the install was replaced by it; entries after our base snapshot that
            // were replayed so far are stale.
            mem.applySnapshot(mem.snapshot());
            termAtSnap = rec.index === snapIndex ? rec.term : undefined;
          }
        }
      });
      // A snapshot received from the leader is written to its file before the batch that records
      // the install; a crash in between leaves the file plus this member's old log, whose entries
      // after the snapshot index may conflict with it. They are known stale when the old log holds
      // a different term at the snapshot index (Log Matching): drop them, as the install would have.
      if (
        snapshot !== undefined &&
        termAtSnap !== undefined &&
        termAtSnap !== snapshot.meta.term &&
        mem.lastIndex() > snapIndex
      ) {
        logger.warn(
          {
            snapshotIndex: snapIndex,
            snapshotTerm: snapshot.meta.term,
            logTerm: termAtSnap,
            dropped: mem.lastIndex() - snapIndex,
          },
          "wal: dropping stale entries after a snapshot whose install was not recorded",
        );
        mem.applySnapshot(snapshot);
      }
    } catch (err) {
      await opened.log.close();
      throw err;
    }
    // A snapshot's content is committed by definition; its file may have reached disk just before
    // a crash that lost the batch carrying the matching commit index.
    if (hs.commit < snapIndex) hs = { ...hs, commit: snapIndex };
    if (hs.commit > mem.lastIndex()) {
      await opened.log.close();
      throw new ShoalError(
        WalErrorCode.Gap,
        `wal hard state commits index ${hs.commit} but the log in "${walDir}" ends at ${mem.lastIndex()}`,
        {
          hint: "committed entries were lost; restore the directory from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
          details: { path: walDir, commit: hs.commit, lastIndex: mem.lastIndex() },
        },
      );
    }
    mem.setHardState(hs);

    const recovery: RecoveryReport = {
      created: opened.created,
      skippedSnapshots: skipped,
      frames: opened.payloads.length,
    };
    if (opened.truncatedTail !== undefined) recovery.truncatedTail = opened.truncatedTail;
    logger.info(
      {
        dir: options.dir,
        snapshotIndex: mem.snapshot().meta.index,
        lastIndex: mem.lastIndex(),
        term: hs.term,
        commit: hs.commit,
        frames: recovery.frames,
      },
      opened.created ? "wal: created" : "wal: recovered",
    );
    const storage = new WalStorage({ mem, hs, log: opened.log, snapDir, options, recovery });
    // Bootstrapping is idempotent: it happens on every open that finds no state at all, so a crash
    // between creating the log and writing the bootstrap batch is harmless.
    if (
      options.bootstrapVoters !== undefined &&
      snapshot === undefined &&
      mem.lastIndex() === 0 &&
      hs.term === 0
    ) {
      const boot = bootstrapLog(options.bootstrapVoters);
      await storage.save(boot.hardState, boot.entries);
    }
    return storage;
  }

  // ---- Storage (reads; everything returned is durable) ----------------------------------------

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

  hardState(): HardState {
    return { ...this.hs };
  }

  // ---- Writes --------------------------------------------------------------------------------

  /**
   * Persists one Ready batch with a single write and fdatasync. A snapshot (received from the
   * leader) goes to its own file first; the batch then records that it replaced the log. Entries
   * at an index already in the log replace it from there on. Resolves once durable. With `sync`
   * false and nothing but a hard state, nothing is written yet (see DurableStorage.save).
   */
  save(hardState: HardState | undefined, entries: Entry[], snapshot?: Snapshot, sync = true): Promise<void> {
    return this.serialize(async () => {
      if (hardState === undefined && entries.length === 0 && snapshot === undefined) return;
      if (!sync && hardState !== undefined && entries.length === 0 && snapshot === undefined) {
        // Only the commit index moved (term and vote changes always sync): keep it in memory and
        // write it with the next synced batch rather than pay an fsync for it now.
        this.hs = { ...hardState };
        this.mem.setHardState(hardState);
        this.hsUnwritten = true;
        return;
      }
      if (hardState === undefined && this.hsUnwritten) hardState = this.hs;
      if (snapshot !== undefined) await writeSnapshotFile(this.fs, this.snapDir, snapshot);
      const installed =
        snapshot === undefined ? undefined : { index: snapshot.meta.index, term: snapshot.meta.term };
      await this.log.append(encodeBatch(hardState, entries, installed));
      this.hsUnwritten = false;
      if (snapshot !== undefined) this.mem.applySnapshot(snapshot);
      if (entries.length > 0) this.mem.append(entries);
      if (hardState !== undefined) {
        this.hs = { ...hardState };
        this.mem.setHardState(hardState);
      }
      if (this.log.needsRotation()) await this.log.rotate(this.mem.lastIndex() + 1, encodeBatch(this.hs, []));
      if (snapshot !== undefined) await this.cleanup();
    });
  }

  /**
   * Records a snapshot of the state machine taken at applied index `index`: writes its file
   * atomically, then drops older snapshot files beyond `keepSnapshots` and the log segments that
   * lie wholly before the oldest kept snapshot. The in-memory log is left alone (see compact).
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.serialize(async () => {
      const current = this.mem.snapshot();
      if (index <= current.meta.index) return current;
      const snap: Snapshot = {
        meta: {
          index,
          term: this.mem.term(index),
          confState: { voters: [...confState.voters], learners: [...confState.learners] },
        },
        data,
      };
      await writeSnapshotFile(this.fs, this.snapDir, snap);
      this.mem.createSnapshot(index, confState, data);
      await this.cleanup();
      return this.mem.snapshot();
    });
  }

  /**
   * Drops in-memory entries up to `index` (at most the snapshot index). Followers that need them
   * later get the snapshot instead. Disk space is reclaimed by createSnapshot.
   */
  compact(index: number): Promise<void> {
    return this.serialize(async () => {
      this.mem.compact(Math.min(index, this.mem.snapshot().meta.index));
    });
  }

  /** Paths of the log segments currently on disk, oldest first (for tests and diagnostics). */
  segmentPaths(): string[] {
    return this.log.segments().map((s) => s.path);
  }

  async close(): Promise<void> {
    await this.serialize(async () => {
      this.closed = true;
      await this.log.close();
    });
  }

  private async cleanup(): Promise<void> {
    const oldestKept = await pruneSnapshotFiles(this.fs, this.snapDir, this.keepSnapshots);
    if (oldestKept !== undefined) {
      const removed = await this.log.removeSegmentsBefore(oldestKept + 1);
      if (removed > 0) this.logger.debug({ removed, oldestKept }, "wal: compacted segments");
    }
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed) throw new ShoalError(WalErrorCode.Closed, "wal storage is closed");
      return fn();
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }
}

function appendReplayed(mem: MemoryStorage, entries: Entry[], walDir: string, skipped: unknown[]): void {
  if (entries.length === 0) return;
  const first = entries[0]!.index;
  const last = entries[entries.length - 1]!.index;
  if (last < mem.firstIndex()) {
    // The batch lies wholly at or below the snapshot: its entries are covered, but the
    // truncation it implies is not — when it was written, everything after `last` was replaced.
    // Drop what earlier frames put after the snapshot, or stale entries come back to life.
    mem.applySnapshot(mem.snapshot());
    return;
  }
  if (first > mem.lastIndex() + 1) {
    throw new ShoalError(
      WalErrorCode.Gap,
      `wal in "${walDir}" continues at index ${first} but the log before it ends at ${mem.lastIndex()}`,
      {
        hint: "entries between the snapshot and the log were lost (a damaged snapshot or deleted segments); restore from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
        details: { path: walDir, nextIndex: first, lastIndex: mem.lastIndex(), skippedSnapshots: skipped },
      },
    );
  }
  mem.append(entries);
}
