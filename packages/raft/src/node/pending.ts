import { ShoalError } from "@shoal/base";
import type { Entry } from "../types.js";
import { NodeErrorCode } from "./errors.js";

export interface Proposed {
  index: number;
  term: number;
}

interface Waiter {
  term: number;
  resolve: (p: Proposed) => void;
  reject: (err: Error) => void;
  /** Set when this node stopped leading while the proposal waited (the orphanAll() token). */
  orphaned?: number;
}

/**
 * Proposals appended by this node as leader, keyed by log index. An entry is reported applied only
 * when the entry applied at its index carries its term: Log Matching makes (index, term) unique, so
 * a different term there means ours was overwritten and will never be applied.
 */
export class PendingProposals {
  private readonly byIndex = new Map<number, Waiter>();
  private orphanTokens = 0;

  /** `ignoreTerm`: DELIBERATELY UNSAFE, for the simulator's mutation checks only. */
  constructor(private readonly ignoreTerm = false) {}

  get size(): number {
    return this.byIndex.size;
  }

  add(
    index: number,
    term: number,
    resolve: (p: Proposed) => void,
    reject: (err: Error) => void,
    lost: () => Error,
  ): void {
    // Leading again, we append at a slot an orphan of an earlier term still waits on: our log no
    // longer holds that entry, but another member's may, and a later leader could still commit
    // it, so its outcome is unknown.
    const prior = this.byIndex.get(index);
    if (prior !== undefined) prior.reject(prior.orphaned !== undefined ? lost() : replaced(index, term, -1));
    this.byIndex.set(index, { term, resolve, reject });
  }

  /**
   * This node stopped leading. Its proposals keep waiting: each still settles by the entry applied
   * at its index (Log Matching makes the outcome definite: our entry, or another term's that
   * replaced it). Returns a token for expireOrphans().
   */
  orphanAll(): number {
    const token = ++this.orphanTokens;
    for (const w of this.byIndex.values()) w.orphaned ??= token;
    return token;
  }

  /** Rejects with `err` every proposal orphaned by orphanAll() `token` (or before) still waiting. */
  expireOrphans(token: number, err: () => Error): void {
    for (const [i, w] of this.byIndex) {
      if (w.orphaned === undefined || w.orphaned > token) continue;
      this.byIndex.delete(i);
      w.reject(err());
    }
  }

  /** Called after `entry` was applied to the state machine. */
  applied(entry: Entry): void {
    const w = this.byIndex.get(entry.index);
    if (w === undefined) return;
    this.byIndex.delete(entry.index);
    if (w.term === entry.term || this.ignoreTerm) w.resolve({ index: entry.index, term: entry.term });
    else w.reject(replaced(entry.index, w.term, entry.term));
  }

  /** A snapshot from the leader covers everything up to `index`: we cannot tell which entries made it. */
  coveredBySnapshot(index: number): void {
    for (const [i, w] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      w.reject(
        new ShoalError(
          NodeErrorCode.OutcomeUnknown,
          `proposal at index ${i} was covered by a snapshot at index ${index} before it was seen applied`,
          {
            hint: "the entry may or may not be in the state; read it back before retrying a non-idempotent request",
            details: { index: i, term: w.term, snapshotIndex: index },
          },
        ),
      );
    }
  }

  rejectAll(err: () => Error): void {
    const all = [...this.byIndex.values()];
    this.byIndex.clear();
    for (const w of all) w.reject(err());
  }
}

function replaced(index: number, term: number, byTerm: number): ShoalError {
  return new ShoalError(
    NodeErrorCode.EntryReplaced,
    `proposal at index ${index} in term ${term} was replaced by an entry of term ${byTerm}; it was not applied`,
    { hint: "retry the request on the current leader", details: { index, term, replacedByTerm: byTerm } },
  );
}
