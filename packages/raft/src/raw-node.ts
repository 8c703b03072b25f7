import { decodeConfChange, encodeConfChange } from "./conf-change.js";
import { type RaftConfig, resolveConfig } from "./config.js";
import type { ProgressStatus, ProposeResult, RawNodeApi, Status } from "./core-api.js";
import { Raft } from "./raft.js";
import { transferLeadership } from "./step-leader.js";
import {
  type ConfChange,
  type ConfState,
  type HardState,
  hardStateEqual,
  isEmptyHardState,
  type Message,
  NONE,
  type Ready,
  Role,
  type SoftState,
} from "./types.js";

/**
 * The synchronous Raft core: feed it ticks, messages and proposals; drain Ready batches; confirm
 * each with advance(). No I/O, no timers, no global randomness — the driver owns all of that.
 */
export class RawNode implements RawNodeApi {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;

  constructor(config: RaftConfig) {
    this.raft = new Raft(resolveConfig(config));
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  tick(): void {
    this.raft.tickFn();
  }

  step(message: Message): void {
    // Answers from peers we no longer track (removed members) cannot affect anything.
    if (
      (message.type === "appResp" || message.type === "heartbeatResp") &&
      !this.raft.trk.progress.has(message.from)
    ) {
      return;
    }
    this.raft.step(message);
  }

  campaign(): void {
    this.raft.hup(false);
  }

  propose(data: Uint8Array): ProposeResult {
    return this.raft.propose([{ term: 0, index: 0, type: "normal", data }], false);
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    return this.raft.propose(
      [{ term: 0, index: 0, type: "confChange", data: encodeConfChange(change) }],
      false,
    );
  }

  readIndex(context: Uint8Array): void {
    this.raft.step({ type: "readIndex", from: this.raft.id, to: this.raft.id, term: 0, context });
  }

  transferLeadership(to: number): void {
    const r = this.raft;
    if (r.role === Role.Leader) transferLeadership(r, to);
    else if (r.lead !== NONE) r.send({ type: "transferLeader", from: to, to: r.lead, term: 0 });
  }

  reportUnreachable(id: number): void {
    const pr = this.raft.trk.progress.get(id);
    if (this.raft.role !== Role.Leader || pr === undefined) return;
    // Stop pipelining into the void: probe until the follower answers again.
    if (pr.state === "replicate") pr.becomeProbe();
  }

  reportSnapshot(id: number, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  hasReady(): boolean {
    const r = this.raft;
    const soft = r.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHard)) return true;
    if (r.log.unstable.snapshot !== undefined) return true;
    if (r.msgs.length > 0 || r.log.unstableEntries().length > 0 || r.readStates.length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  ready(): Ready {
    const r = this.raft;
    const rd: Ready = {
      entries: r.log.unstableEntries().slice(),
      messages: r.msgs,
      committedEntries: r.log.hasNextCommittedEntries() ? r.log.nextCommittedEntries() : [],
      readStates: r.readStates,
      mustSync: false,
    };
    r.msgs = [];
    r.readStates = [];
    const soft = r.softState();
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) rd.softState = soft;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHard)) rd.hardState = hs;
    const snap = r.log.unstable.snapshot;
    if (snap !== undefined) rd.snapshot = snap;
    // A commit-index change alone may be lost in a crash (it is recomputed), term/vote/entries not.
    rd.mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      hs.term !== this.prevHard.term ||
      hs.vote !== this.prevHard.vote;
    return rd;
  }

  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.softState !== undefined) this.prevSoft = rd.softState;
    if (rd.hardState !== undefined) this.prevHard = rd.hardState;
    if (rd.snapshot !== undefined) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      if (rd.snapshot.meta.index > r.log.applied) r.log.applied = rd.snapshot.meta.index;
    }
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1];
      if (last !== undefined) r.log.stableTo(last.index, last.term);
    }
    if (rd.committedEntries.length > 0) {
      const last = rd.committedEntries[rd.committedEntries.length - 1];
      if (last !== undefined && last.index > r.log.applied) r.log.appliedTo(last.index);
      for (const e of rd.committedEntries) {
        if (e.type === "confChange") r.applyConfChange(decodeConfChange(e.data));
      }
      r.reduceUncommittedBytes(rd.committedEntries);
    }
  }

  /** Membership as of the last applied entry (what a snapshot taken now must record). */
  confState(): ConfState {
    return this.raft.confState();
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<number, ProgressStatus>();
    if (r.role === Role.Leader) {
      for (const [id, pr] of r.trk.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      leader: r.lead,
      role: r.role,
      confState: r.confState(),
      progress,
      leadTransferee: r.leadTransferee,
    };
  }
}
