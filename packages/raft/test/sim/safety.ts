import { decodeConfChange, type Entry, type Storage } from "../../src/index.js";

/** A broken Raft safety property, with enough context to debug it from the seed. */
export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = "SafetyViolation";
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function durableTerm(s: Storage, index: number): number | undefined {
  if (index < s.firstIndex() - 1 || index > s.lastIndex()) return undefined;
  return s.term(index);
}

/**
 * Cluster-wide registries that turn the Raft paper's safety properties into checks the simulator
 * runs on every persisted Ready and every applied entry.
 */
export class SafetyChecker {
  /** Election Safety: the one leader of each term. */
  private readonly leaders = new Map<number, number>();
  /** Log Matching: for each (index, term) the entry data and the term before it. */
  private readonly entries = new Map<string, { data: Uint8Array; prevTerm: number | undefined }>();
  /** Entries known committed (index → entry); State Machine Safety and Leader Completeness. */
  readonly committed = new Map<number, Entry>();
  maxCommitted = 0;
  /** Highest term of any leader seen so far. */
  private maxLeaderTerm = 0;
  /** Per committed index: an upper bound of the term in which it was committed. */
  private readonly commitTermBound = new Map<number, number>();
  private readonly confChanges: Entry[] = [];
  /** The last few distinct voter sets any node applied; changes go one at a time. */
  readonly recentVoterSets: number[][] = [];

  noteVoters(voters: number[]): void {
    const key = voters.join(",");
    if (this.recentVoterSets.some((v) => v.join(",") === key)) return;
    this.recentVoterSets.push([...voters]);
    if (this.recentVoterSets.length > 3) this.recentVoterSets.shift();
  }

  /** Per node: highest durable commit index (monotonic across restarts). */
  private readonly durableCommit = new Map<number, number>();

  leaderElected(id: number, term: number, storage: Storage): void {
    const prior = this.leaders.get(term);
    if (prior !== undefined && prior !== id) {
      throw new SafetyViolation(
        "election safety",
        `nodes ${prior} and ${id} were both leader in term ${term}`,
      );
    }
    this.leaders.set(term, id);
    if (term > this.maxLeaderTerm) this.maxLeaderTerm = term;
    // Leader Completeness: every entry committed in an earlier term is in the new leader's (now
    // durable) log. A leader may be elected late (delayed votes of an old term), after a newer
    // leader committed more: only entries surely committed before its term are checked.
    const snapIndex = storage.snapshot().meta.index;
    for (let i = Math.max(snapIndex + 1, 1); i <= this.maxCommitted; i++) {
      const c = this.committed.get(i);
      if (c === undefined || (this.commitTermBound.get(i) ?? 0) >= term) continue;
      const t = durableTerm(storage, i);
      if (t !== c.term) {
        throw new SafetyViolation(
          "leader completeness",
          `leader ${id} of term ${term} has term ${t} at committed index ${i} (committed term ${c.term})`,
        );
      }
    }
  }

  /** Log Matching, checked on each entry as it becomes durable on `id`. */
  entriesPersisted(id: number, entries: Entry[], storage: Storage): void {
    for (const e of entries) {
      if (e.index < storage.firstIndex()) continue;
      const prevTerm = durableTerm(storage, e.index - 1);
      const key = `${e.index}:${e.term}`;
      const seen = this.entries.get(key);
      if (seen === undefined) {
        this.entries.set(key, { data: e.data, prevTerm });
        continue;
      }
      if (!sameBytes(seen.data, e.data)) {
        throw new SafetyViolation(
          "log matching",
          `node ${id} holds different data at index ${e.index} term ${e.term}`,
        );
      }
      if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        throw new SafetyViolation(
          "log matching",
          `node ${id} has term ${prevTerm} before index ${e.index} term ${e.term}; another node has ${seen.prevTerm}`,
        );
      }
    }
  }

  /**
   * A node made commit index `commit` durable: it must not go backwards, and every entry up to it
   * must agree with what is known committed and be durable on a majority of `voters`.
   */
  commitPersisted(
    id: number,
    commit: number,
    storage: Storage,
    _voterSets: number[][],
    disks: Map<number, Storage>,
  ): void {
    const prev = this.durableCommit.get(id) ?? 0;
    if (commit < prev) {
      throw new SafetyViolation(
        "monotonic commit",
        `node ${id} durable commit went from ${prev} back to ${commit}`,
      );
    }
    this.durableCommit.set(id, commit);
    const from = Math.max(prev + 1, storage.firstIndex());
    for (let i = from; i <= commit; i++) {
      const t = durableTerm(storage, i);
      if (t === undefined) continue;
      const e = storage.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0] as Entry;
      this.recordCommitted(id, e);
      // The entry was committed under one of the node's recent configurations (one change at a
      // time means old and new majorities overlap); it must be durable on a majority of one.
      let best = "";
      const voterSets = this.configsBefore(i);
      let durable = voterSets.length === 0;
      for (const voters of voterSets) {
        let copies = 0;
        for (const v of voters) {
          const d = disks.get(v);
          if (d === undefined) continue;
          if (d.snapshot().meta.index >= i || durableTerm(d, i) === e.term) copies++;
        }
        if (voters.length === 0 || copies >= Math.floor(voters.length / 2) + 1) durable = true;
        best += ` ${copies}/${voters.join(",")}`;
      }
      if (!durable) {
        throw new SafetyViolation(
          "committed is durable",
          `index ${i} term ${e.term} committed by node ${id} is durable only on (copies/voters):${best}`,
        );
      }
    }
  }

  /**
   * Leader progress: what a leader of `term` believes a follower holds (its progress.match) must
   * be true. A match above 0 comes only from an acknowledgement sent in `term` after the follower
   * made its log durable up to it, so (a) it never exceeds the leader's own log, which never
   * shrinks while it leads; (b) the follower's durable term is at least `term` (term changes are
   * always fsynced before the acknowledgement leaves); and (c) while the follower is still in
   * `term`, its durable log reaches the match (nothing of this term truncates below it: the
   * follower's entries up to the match are the leader's). An acknowledgement of an earlier term
   * breaks these as soon as it is counted, long before it leads to a wrong commit.
   */
  leaderProgress(
    id: number,
    term: number,
    lastIndex: number,
    progress: ReadonlyMap<number, { match: number }>,
    disks: Map<number, Storage>,
  ): void {
    for (const [peer, pr] of progress) {
      if (peer === id || pr.match === 0) continue;
      if (pr.match > lastIndex) {
        throw new SafetyViolation(
          "leader progress",
          `leader ${id} of term ${term} believes node ${peer} holds index ${pr.match}, beyond its own log (${lastIndex})`,
        );
      }
      const d = disks.get(peer);
      if (d === undefined) continue;
      const peerTerm = d.initialState().hardState.term;
      if (peerTerm < term) {
        throw new SafetyViolation(
          "leader progress",
          `leader ${id} of term ${term} believes node ${peer} holds index ${pr.match}, but node ${peer} is durably in term ${peerTerm}: an acknowledgement of an earlier term was counted`,
        );
      }
      if (peerTerm === term && d.lastIndex() < pr.match) {
        throw new SafetyViolation(
          "leader progress",
          `leader ${id} of term ${term} believes node ${peer} holds index ${pr.match}, but its durable log ends at ${d.lastIndex()}`,
        );
      }
    }
  }

  /** State Machine Safety: every node applies the same entry at each index. */
  applied(id: number, e: Entry): void {
    this.recordCommitted(id, e);
  }

  /**
   * The configurations an entry at `index` may have been committed under: membership changes take
   * effect when applied, so a leader may still run on the one or two before the latest.
   */
  private configsBefore(index: number): number[][] {
    const out: number[][] = [];
    let cur = new Set<number>();
    for (const e of this.confChanges) {
      if (e.index >= index) break;
      const cc = decodeConfChange(e.data);
      cur = new Set(cur);
      if (cc.type === "addVoter") cur.add(cc.nodeId);
      else cur.delete(cc.nodeId);
      out.push([...cur].sort((a, b) => a - b));
    }
    return out.slice(-3);
  }

  private recordCommitted(id: number, e: Entry): void {
    const c = this.committed.get(e.index);
    if (c === undefined) {
      this.committed.set(e.index, e);
      // It was committed by a leader already elected; none newer than the newest seen so far.
      this.commitTermBound.set(e.index, Math.max(this.maxLeaderTerm, e.term));
      if (e.type === "confChange") {
        this.confChanges.push(e);
        this.confChanges.sort((a, b) => a.index - b.index);
      }
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
      return;
    }
    if (c.term !== e.term || !sameBytes(c.data, e.data)) {
      throw new SafetyViolation(
        "state machine safety",
        `node ${id} has term ${e.term} at committed index ${e.index}, but term ${c.term} was committed there`,
      );
    }
  }
}
