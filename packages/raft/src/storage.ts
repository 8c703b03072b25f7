import { ShoalError } from "@shoal/base";
import { encodeConfChange } from "./conf-change.js";
import { RaftErrorCode } from "./errors.js";
import {
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  emptyHardState,
  entrySize,
  type HardState,
  type Snapshot,
} from "./types.js";

/**
 * What the core reads from durable storage. Everything here must already be durable: the core
 * keeps not-yet-persisted entries itself (unstable log) and hands them out in Ready.entries.
 * The log held by storage is [firstIndex(), lastIndex()]; the entry just before firstIndex() is
 * covered by the snapshot, whose index and term `term(firstIndex() - 1)` still answers.
 * Reads throw ShoalError RAFT_COMPACTED below that range and RAFT_UNAVAILABLE above it.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any exist, then stopping before `maxBytes` is passed. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot (may be the empty snapshot at index 0). */
  snapshot(): Snapshot;
}

export function compactedError(index: number, firstIndex: number): ShoalError {
  return new ShoalError(
    RaftErrorCode.Compacted,
    `raft log index ${index} is compacted (first available index is ${firstIndex})`,
  );
}

export function unavailableError(index: number, lastIndex: number): ShoalError {
  return new ShoalError(
    RaftErrorCode.Unavailable,
    `raft log index ${index} is unavailable (last index is ${lastIndex})`,
  );
}

/** Cuts `entries` to the longest prefix within `maxBytes`, always keeping at least one entry. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entrySize(entries[0] as Entry);
  let n = 1;
  while (n < entries.length) {
    size += entrySize(entries[n] as Entry);
    if (size > maxBytes) break;
    n++;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/**
 * The log a brand-new cluster starts from: one committed addVoter entry per initial member (term
 * 1), so a member that later catches up from index 1 learns the whole membership history.
 * Every initial member must start from exactly these entries.
 */
export function bootstrapLog(voters: number[]): { entries: Entry[]; hardState: HardState } {
  const entries = voters.map(
    (id, i): Entry => ({
      term: 1,
      index: i + 1,
      type: "confChange",
      data: encodeConfChange({ type: "addVoter", nodeId: id }),
    }),
  );
  return { entries, hardState: { term: 1, vote: 0, commit: entries.length } };
}

function emptySnapshot(): Snapshot {
  return { meta: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: EMPTY_BYTES };
}

/**
 * Storage in memory, for tests and the simulator. `ents[0]` is a dummy entry carrying the
 * snapshot's index and term, so term lookups at the compaction boundary work.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot = emptySnapshot();
  private ents: Entry[] = [{ term: 0, index: 0, type: "normal", data: EMPTY_BYTES }];

  /** Storage for an initial member of a new cluster (see bootstrapLog). */
  static bootstrap(voters: number[]): MemoryStorage {
    const s = new MemoryStorage();
    const { entries, hardState } = bootstrapLog(voters);
    s.append(entries);
    s.setHardState(hardState);
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    const cs = this.snap.meta.confState;
    return {
      hardState: { ...this.hardState },
      confState: { voters: [...cs.voters], learners: [...cs.learners] },
    };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw compactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw unavailableError(hi - 1, this.lastIndex());
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(index: number): number {
    const offset = this.offset();
    if (index < offset) throw compactedError(index, offset + 1);
    if (index - offset >= this.ents.length) throw unavailableError(index, this.lastIndex());
    return (this.ents[index - offset] as Entry).term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot (a follower installing one from the leader). */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index < this.snap.meta.index) {
      throw new ShoalError(
        RaftErrorCode.SnapshotOutOfDate,
        `snapshot at index ${snap.meta.index} is older than the stored one at ${this.snap.meta.index}`,
      );
    }
    this.snap = snap;
    this.ents = [{ term: snap.meta.term, index: snap.meta.index, type: "normal", data: EMPTY_BYTES }];
  }

  /**
   * Records a snapshot of the state machine taken at `index` (which must be applied) and keeps the
   * log; call compact() afterwards to drop the entries it covers.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) return this.snap;
    if (index > this.lastIndex()) throw unavailableError(index, this.lastIndex());
    const term = this.term(index);
    this.snap = {
      meta: { index, term, confState: { voters: [...confState.voters], learners: [...confState.learners] } },
      data,
    };
    return this.snap;
  }

  /** Drops entries before `compactIndex`; the entry at compactIndex becomes the dummy entry. */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) return;
    if (compactIndex > this.lastIndex()) throw unavailableError(compactIndex, this.lastIndex());
    const i = compactIndex - offset;
    const dummy = this.ents[i] as Entry;
    this.ents = [
      { term: dummy.term, index: dummy.index, type: "normal", data: EMPTY_BYTES },
      ...this.ents.slice(i + 1),
    ];
  }

  /** Appends entries, replacing any conflicting suffix (entries at and after the first new index). */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = (entries[entries.length - 1] as Entry).index;
    if (last < first) return;
    // Entries already covered by the snapshot are dropped; the rest must follow on without a gap.
    const from =
      first > (entries[0] as Entry).index ? entries.slice(first - (entries[0] as Entry).index) : entries;
    const start = (from[0] as Entry).index;
    const offset = this.offset();
    if (start > this.lastIndex() + 1) {
      throw new ShoalError(
        RaftErrorCode.Invariant,
        `raft log append at index ${start} leaves a gap after last index ${this.lastIndex()}`,
      );
    }
    this.ents.length = start - offset;
    for (const e of from) this.ents.push(e);
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}
