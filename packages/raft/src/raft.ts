import type { Logger, Random } from "@shoal/base";
import { decodeConfChange } from "./conf-change.js";
import type { ResolvedConfig } from "./config.js";
import type { ProposeResult } from "./core-api.js";
import { campaign, handleVote, hup, poll, sendVoteRequests } from "./elections.js";
import { invariant } from "./errors.js";
import { applyConfChange, reportSnapshot, restoreSnapshot } from "./membership.js";
import { ProgressTracker } from "./progress-tracker.js";
import { RaftLog } from "./raft-log.js";
import { ReadOnly } from "./read-only.js";
import { sendAppend, sendHeartbeats } from "./replication.js";
import { SnapshotAssembly } from "./snapshot-chunks.js";
import { stepCandidate } from "./step-candidate.js";
import { stepFollower } from "./step-follower.js";
import { stepLeader } from "./step-leader.js";
import {
  type ConfChange,
  EMPTY_BYTES,
  type Entry,
  type HardState,
  type Message,
  NONE,
  type ReadState,
  Role,
  type Snapshot,
  type SoftState,
} from "./types.js";

export type StepFn = (r: Raft, m: Message) => void;

/**
 * The Raft state machine for one node. Roles swap `stepFn`/`tickFn` (step-leader.ts,
 * step-candidate.ts, step-follower.ts); this file holds the state, role transitions, the
 * term rules every message passes through (`step`), and elections.
 */
export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  lead = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;
  readonly trk: ProgressTracker;
  readonly readOnly = new ReadOnly();
  readonly snapAssembly = new SnapshotAssembly();
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  pendingReadIndex: Message[] = [];
  leadTransferee = NONE;
  /** Whether the current campaign is a leadership transfer's (its vote requests skip the lease). */
  campaignTransfer = false;
  /** Ticks since the current transfer started; its own clock, so it never touches the lease. */
  transferElapsed = 0;
  /** Index of the last conf change proposed; another waits until it is applied. */
  pendingConfIndex = 0;
  uncommittedBytes = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTicks = 0;
  stepFn: StepFn = stepFollower;
  tickFn: () => void = () => this.tickElection();
  readonly cfg: ResolvedConfig;
  readonly logger: Logger;
  private readonly random: Random;

  constructor(cfg: ResolvedConfig) {
    this.cfg = cfg;
    this.id = cfg.id;
    this.logger = cfg.logger;
    this.random = cfg.random;
    this.log = new RaftLog(cfg.storage, cfg.maxCommittedBytesPerReady);
    this.trk = new ProgressTracker(cfg.maxInflightMsgs);
    const { hardState, confState } = cfg.storage.initialState();
    this.trk.setConf(confState, this.log.lastIndex() + 1);
    if (hardState.commit > this.log.lastIndex()) {
      throw invariant(
        `raft hard state commit ${hardState.commit} is beyond the last index ${this.log.lastIndex()}`,
      );
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.log.commitTo(hardState.commit);
    // The state machine may be ahead of the snapshot (it applied entries before the restart).
    const applied = Math.min(cfg.applied, this.log.committed);
    if (applied > this.log.applied) this.log.appliedTo(applied);
    // Conf changes the state machine applied before this restart are not in the snapshot's
    // ConfState; replay them so membership matches what was applied.
    const first = this.log.firstIndex();
    if (this.log.applied >= first) {
      for (const e of this.log.slice(first, this.log.applied + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type === "confChange") this.applyConfChange(decodeConfChange(e.data));
      }
    }
    this.becomeFollower(this.term, NONE);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  promotable(): boolean {
    return this.trk.isVoter(this.id) && this.log.unstable.snapshot === undefined;
  }

  // ---- sending ------------------------------------------------------------------------------

  /** Queues a message; it leaves only after the Ready carrying it was persisted. */
  send(m: Message): void {
    this.msgs.push(m);
  }

  // ---- role transitions ---------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.trk.resetVotes();
    const next = this.log.lastIndex() + 1;
    for (const [id, pr] of this.trk.progress) {
      pr.becomeProbe();
      pr.match = id === this.id ? this.log.lastIndex() : 0;
      pr.next = next;
      pr.recentActive = true;
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly.reset();
    this.pendingReadIndex = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTicks = this.cfg.electionTicks + this.random.int(this.cfg.electionTicks);
  }

  becomeFollower(term: number, lead: number): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.role = Role.Follower;
  }

  becomePreCandidate(): void {
    if (this.role === Role.Leader) throw invariant("raft invalid transition leader -> preCandidate");
    // PreVote changes neither term nor vote: a partitioned node cannot inflate terms.
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.role = Role.PreCandidate;
  }

  becomeCandidate(): void {
    if (this.role === Role.Leader) throw invariant("raft invalid transition leader -> candidate");
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  becomeLeader(): void {
    if (this.role === Role.Follower) throw invariant("raft invalid transition follower -> leader");
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.role = Role.Leader;
    this.trk.progress.get(this.id)?.becomeReplicate();
    // Entries from earlier terms may hide a conf change; block new ones until they are applied.
    this.pendingConfIndex = this.log.lastIndex();
    // An empty entry of the new term: only current-term entries commit by counting (Figure 8).
    this.appendEntries([{ term: 0, index: 0, type: "normal", data: EMPTY_BYTES }]);
    this.logger.info({ term: this.term }, "raft became leader");
  }

  // ---- ticks --------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTicks) {
      this.electionElapsed = 0;
      this.hup(false);
      return;
    }
    // A (pre-)candidate asks the voters that have not answered again every heartbeat interval
    // instead of waiting a whole new randomized timeout: a request lost, or ignored by a voter
    // whose leader lease had a tick left (its clock runs a little behind ours), would otherwise
    // turn a failover into two election timeouts.
    if (
      (this.role === Role.PreCandidate || this.role === Role.Candidate) &&
      this.electionElapsed % this.cfg.heartbeatTicks === 0
    ) {
      sendVoteRequests(this, true);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    // A transfer that did not finish within an election timeout is abandoned.
    if (this.leadTransferee !== NONE && ++this.transferElapsed >= this.cfg.electionTicks) {
      this.leadTransferee = NONE;
    }
    for (const [id, pr] of this.trk.progress) {
      if (pr.state === "snapshot" && ++pr.snapshotTicks > this.cfg.snapshotRetryTicks) {
        this.reportSnapshot(id, false);
      }
    }
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        if (!this.trk.quorumActive(this.id)) {
          this.logger.warn({ term: this.term }, "raft leader lost contact with a quorum, stepping down");
          this.becomeFollower(this.term, NONE);
          return;
        }
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
      }
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      sendHeartbeats(this, this.readOnly.lastPendingContext() ?? EMPTY_BYTES);
    }
  }

  // ---- elections (elections.ts) ------------------------------------------------------------

  hup(transfer: boolean): void {
    hup(this, transfer);
  }

  campaign(kind: "preVote" | "vote", transfer: boolean): void {
    campaign(this, kind, transfer);
  }

  /** Records a vote answer and acts on the outcome; used by the candidate step function. */
  poll(from: number, granted: boolean, kind: "preVoteResp" | "voteResp"): void {
    poll(this, from, granted, kind);
  }

  // ---- the term rules every message passes through ------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // Term-less: forwarded proposals and reads.
    } else if (m.term > this.term) {
      if (m.type === "vote" || m.type === "preVote") {
        // CheckQuorum lease: while we hear from a leader, a disruptive candidate is ignored.
        const inLease =
          this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTicks;
        if (!m.transfer && inLease) {
          this.logger.debug(
            {
              term: this.term,
              type: m.type,
              from: m.from,
              candidateTerm: m.term,
              lead: this.lead,
              remainingTicks: this.cfg.electionTicks - this.electionElapsed,
            },
            "raft ignoring vote request: leader lease not expired",
          );
          return;
        }
      }
      if (m.type === "preVote") {
        // A pre-vote never changes our term.
      } else if (m.type === "preVoteResp" && !m.reject) {
        // Granted pre-votes carry the future term; we bump it when we win the pre-election.
      } else if (m.type === "app" || m.type === "heartbeat" || m.type === "snap") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (this.cfg.testingUnsafe === "acceptStaleAppendResp" && m.type === "appResp" && m.index > 0) {
        this.stepFn(this, m);
        return;
      }
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === "heartbeat" || m.type === "app")) {
        // A stale leader (e.g. back from a partition) learns our term from this and steps down;
        // with PreVote it would otherwise never hear a higher term.
        this.send({
          type: "appResp",
          from: this.id,
          to: m.from,
          term: this.term,
          index: 0,
          reject: false,
          rejectHint: 0,
          logTerm: 0,
        });
      } else if (m.type === "preVote") {
        this.send({ type: "preVoteResp", from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === "vote" || m.type === "preVote") {
      handleVote(this, m);
      return;
    }
    this.stepFn(this, m);
  }

  // ---- leader log ---------------------------------------------------------------------------

  /** Appends proposals at the leader. Returns false when the uncommitted-size cap refuses them. */
  appendEntries(entries: Entry[]): boolean {
    let bytes = 0;
    for (const e of entries) bytes += e.data.byteLength;
    const cap = this.cfg.maxUncommittedBytes;
    // Always admit one batch when nothing is outstanding, so a big entry cannot wedge the log.
    if (cap > 0 && bytes > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > cap)
      return false;
    this.uncommittedBytes += bytes;
    let index = this.log.lastIndex();
    for (const e of entries) {
      e.term = this.term;
      e.index = ++index;
    }
    this.log.append(entries);
    this.trk.progress.get(this.id)?.maybeUpdate(this.log.lastIndex());
    this.maybeCommit();
    return true;
  }

  reduceUncommittedBytes(entries: Entry[]): void {
    if (this.role !== Role.Leader) return;
    let bytes = 0;
    for (const e of entries) bytes += e.data.byteLength;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  /** Advances commit to what a quorum has replicated; returns whether it moved. */
  maybeCommit(): boolean {
    const index = this.trk.committed();
    if (this.cfg.testingUnsafe === "commitPreviousTerm") {
      // Deliberately broken (tests of the simulator only): ignores the Figure 8 term check.
      if (index > this.log.committed) {
        this.log.commitTo(index);
        return true;
      }
      return false;
    }
    return this.log.maybeCommit(index, this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Proposal entry point for local and forwarded proposals. */
  propose(proposed: Entry[], fromFollower: boolean): ProposeResult {
    // Fresh objects: appendEntries assigns term/index, and a message may be delivered twice.
    const entries = proposed.map((e): Entry => ({ term: 0, index: 0, type: e.type, data: e.data }));
    if (this.role !== Role.Leader) {
      if (this.lead === NONE || this.role !== Role.Follower)
        return { ok: false, reason: "noLeader", leader: this.lead };
      if (this.cfg.disableProposalForwarding) return { ok: false, reason: "notLeader", leader: this.lead };
      this.send({ type: "prop", from: this.id, to: this.lead, term: 0, entries });
      return { ok: true, forwarded: true, leader: this.lead };
    }
    if (!this.trk.progress.has(this.id)) return { ok: false, reason: "removed", leader: this.lead };
    if (this.leadTransferee !== NONE) return { ok: false, reason: "transferring", leader: this.lead };
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      if (e.type !== "confChange") continue;
      if (this.pendingConfIndex > this.log.applied) {
        if (!fromFollower) return { ok: false, reason: "confChangePending", leader: this.lead };
        // A forwarded batch keeps its other entries; the refused change becomes a no-op.
        entries[i] = { term: 0, index: 0, type: "normal", data: EMPTY_BYTES };
      } else {
        this.pendingConfIndex = this.log.lastIndex() + i + 1;
      }
    }
    if (!this.appendEntries(entries)) return { ok: false, reason: "uncommittedCap", leader: this.lead };
    sendAppendToAll(this);
    const last = entries[entries.length - 1] as Entry;
    return { ok: true, forwarded: false, index: last.index, term: last.term };
  }

  // ---- membership and snapshots (membership.ts) ---------------------------------------------

  applyConfChange(cc: ConfChange): void {
    applyConfChange(this, cc);
  }

  confState() {
    return this.trk.confState();
  }

  /** Follower side: installs a complete snapshot. Returns false when it was not needed. */
  restore(snap: Snapshot): boolean {
    return restoreSnapshot(this, snap);
  }

  reportSnapshot(id: number, ok: boolean): void {
    reportSnapshot(this, id, ok);
  }
}

export function sendAppendToAll(r: Raft): void {
  for (const id of r.trk.progress.keys()) if (id !== r.id) sendAppend(r, id, true);
}
