import { Progress } from "./progress.js";
import type { ConfState } from "./types.js";

export type VoteResult = "won" | "lost" | "pending";

/**
 * Membership and per-member progress. Changes are applied one at a time (no joint consensus), so
 * one majority of `voters` decides both elections and commitment.
 */
export class ProgressTracker {
  voters = new Set<number>();
  learners = new Set<number>();
  readonly progress = new Map<number, Progress>();
  private readonly votes = new Map<number, boolean>();

  constructor(private readonly maxInflight: number) {}

  confState(): ConfState {
    return {
      voters: [...this.voters].sort((a, b) => a - b),
      learners: [...this.learners].sort((a, b) => a - b),
    };
  }

  /** Replaces the membership (restore from snapshot or storage); progress is rebuilt. */
  setConf(cs: ConfState, nextIndex: number): void {
    this.voters = new Set(cs.voters);
    this.learners = new Set(cs.learners.filter((id) => !this.voters.has(id)));
    this.progress.clear();
    for (const id of this.voters) this.progress.set(id, new Progress(nextIndex, this.maxInflight, false));
    for (const id of this.learners) this.progress.set(id, new Progress(nextIndex, this.maxInflight, true));
  }

  /** Adds progress for a member that joined (new members count as recently active). */
  ensureProgress(id: number, nextIndex: number, isLearner: boolean): void {
    const pr = this.progress.get(id);
    if (pr !== undefined) {
      pr.isLearner = isLearner;
      return;
    }
    this.progress.set(id, new Progress(nextIndex, this.maxInflight, isLearner));
  }

  isVoter(id: number): boolean {
    return this.voters.has(id);
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  /** Highest index replicated on a majority of voters (0 with no voters). */
  committed(): number {
    const n = this.voters.size;
    if (n === 0) return 0;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[this.quorum() - 1] as number;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Whether `id` answered the current (pre-)vote round. */
  hasVoted(id: number): boolean {
    return this.votes.has(id);
  }

  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    const result: VoteResult = granted >= q ? "won" : rejected > this.voters.size - q ? "lost" : "pending";
    return { granted, rejected, result };
  }

  /** CheckQuorum: whether a majority of voters was heard from (self always counts). */
  quorumActive(self: number): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === self || this.progress.get(id)?.recentActive) active++;
    }
    return active >= this.quorum();
  }
}
