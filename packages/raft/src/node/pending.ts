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
}

/**
 * Proposals appended by this node as leader, keyed by log index. An entry is reported applied only
 * when the entry applied at its index carries its term: Log Matching makes (index, term) unique, so
 * a different term there means ours was overwritten and will never be applied.
 */
export class PendingProposals {
  private readonly byIndex = new Map<number, Waiter>();

  /** `ignoreTerm`: DELIBERATELY UNSAFE, for the simulator's mutation checks only. */
  constructor(private readonly ignoreTerm = false) {}

  get size(): number {
    return this.byIndex.size;
  }

  add(index: number, term: number, resolve: (p: Proposed) => void, reject: (err: Error) => void): void {
    // A slot is reused only after the old entry there was replaced, which rejects its waiter first
    // (on leadership loss); reject defensively anyway rather than leave a promise hanging.
    this.byIndex.get(index)?.reject(replaced(index, term, -1));
    this.byIndex.set(index, { term, resolve, reject });
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
