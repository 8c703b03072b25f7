import { type Clock, type Logger, type Random, ShoalError, type TimerHandle } from "@shoal/base";
import type { RaftConfig } from "../config.js";
import type { ProposeResult, RawNodeApi, Status } from "../core-api.js";
import { RaftErrorCode } from "../errors.js";
import { RawNode } from "../raw-node.js";
import type { Transport } from "../transport/transport.js";
import { type ConfChange, type Entry, EntryType, type Message, type Ready, Role } from "../types.js";
import type { DurableStorage } from "./durable-storage.js";
import { NodeErrorCode } from "./errors.js";
import { LeadershipSignal, type LeadershipState } from "./leadership.js";
import { type ResolvedNodeOptions, resolveNodeOptions } from "./options.js";
import { PendingProposals, type Proposed } from "./pending.js";
import { ReadContexts } from "./read-context.js";

export interface RaftNodeOptions {
  id: number;
  storage: DurableStorage;
  transport: Transport;
  /** Builds the core from its config (default: `new RawNode(config)`); tests pass scripted cores. */
  createCore?: (config: RaftConfig) => RawNodeApi;
  /**
   * Applies one committed entry to the state machine; awaited before the next. Gets normal entries
   * with data and conf-change entries (the core has already made the change take effect when the
   * Ready is advanced). Throwing stops the node: a state machine that cannot apply has diverged.
   */
  apply: (entry: Entry) => Promise<void> | void;
  /** Serializes the state machine as of the last applied entry. Without it no snapshots are taken. */
  snapshot?: () => Promise<Uint8Array> | Uint8Array;
  /** Replaces the state machine with a snapshot's data (on start and when the leader sends one). */
  restore?: (data: Uint8Array) => Promise<void> | void;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  /** Milliseconds per tick. Default 100. */
  tickMs?: number;
  /** Default 10 (an election after 1–2 s of silence at 100 ms ticks). */
  electionTicks?: number;
  /** Default 1. */
  heartbeatTicks?: number;
  /** Take a snapshot every this many applied entries (0 = never). Default 10,000. */
  snapshotEntries?: number;
  /** Entries kept in the log behind a snapshot so slow followers catch up without one. Default 1,000. */
  snapshotCatchUpEntries?: number;
  /** Also take a snapshot once the entries applied since the last hold this many bytes (0 = no limit). Default 64 MiB. */
  snapshotBytes?: number;
  /** The catch-up entries are also cut to this many bytes, the newest kept (0 = no limit). Default 16 MiB. */
  snapshotCatchUpBytes?: number;
  /** readIndex() gives up after this long. Default twice the maximum election timeout. */
  readTimeoutMs?: number;
  /**
   * DELIBERATELY UNSAFE, for the simulator's mutation checks only; never set outside tests.
   * "resolveIgnoringTerm": a proposal resolves when any entry is applied at its index.
   */
  testingUnsafe?: "resolveIgnoringTerm";
  /**
   * Further core settings (maxSizePerMsg, maxInflightMsgs, maxUncommittedBytes, preVote, …).
   * Proposal forwarding stays off whatever is passed (see run()).
   */
  coreConfig?: Partial<
    Omit<RaftConfig, "id" | "storage" | "applied" | "random" | "logger" | "disableProposalForwarding">
  >;
}

interface QueuedProposal {
  data: Uint8Array | undefined;
  change: ConfChange | undefined;
  resolve: (p: Proposed) => void;
  reject: (err: Error) => void;
}

interface QueuedRead {
  context: Uint8Array;
  resolve: (index: number) => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
  /** Set once the core returned the read state: resolve when applied reaches it. */
  index?: number;
}

/**
 * The async shell around the pure core: owns the tick timer, the durable storage and the
 * transport. One loop handles everything, in this order per Ready (the durability contract):
 *
 *  1. persist the snapshot, entries and hard state with one fsync (storage.save; a batch whose
 *     only change is the commit index is not fsynced — Ready.mustSync);
 *  2. only then send the Ready's messages — a vote or an append ack promises that what it votes
 *     or acks is on disk. Exception: a leader sends its appends/heartbeats/snapshot chunks of its
 *     durable term before its own write, overlapping its fsync with the followers' (safe because
 *     acks are fed to the core only after the write, so commit never counts undurable data);
 *  3. restore the snapshot and apply the committed entries (awaiting `apply`), settle proposals
 *     and reads;
 *  4. advance the core, then snapshot + compact when `snapshotEntries` were applied since the last.
 *
 * Inputs (ticks, messages, proposals, reads) that arrive while a Ready is in flight are queued and
 * fed to the core after advance(), so the core is never touched between ready() and advance(),
 * and everything that arrived during one fsync lands in the next batch (group commit).
 */
export class RaftNode {
  readonly id: number;
  private readonly opts: RaftNodeOptions;
  /** Every option with its default filled in (options.ts), resolved once here. */
  private readonly resolved: ResolvedNodeOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly tickMs: number;
  private readonly electionTicks: number;
  private core: RawNodeApi | undefined;

  private ticks = 0;
  private inbox: Message[] = [];
  private proposals: QueuedProposal[] = [];
  private readQueue: QueuedRead[] = [];
  private readonly reads = new Map<string, QueuedRead>();
  private transfers: number[] = [];
  private unreachable: number[] = [];
  private snapshotReports: [number, boolean][] = [];
  private readonly pending: PendingProposals;
  private readonly leadershipSignal: LeadershipSignal;
  /** Our handler is attached to the transport (so stop() never detaches someone else's). */
  private attached = false;

  private pumping = false;
  private pumpDone: Promise<void> = Promise.resolve();
  private tickTimer: TimerHandle | undefined;
  /** Deadlines of proposals left pending when this node stopped leading (onSoftState). */
  private readonly orphanTimers = new Set<TimerHandle>();
  private stopping = false;
  private failure: unknown;
  private finished: (() => void) | undefined;
  private readonly readContexts: ReadContexts;

  private appliedIndex = 0;
  /** Bytes of entry data applied since the last snapshot (the `snapshotBytes` trigger). */
  private appliedBytesSinceSnapshot = 0;
  private leaderId = 0;
  private currentRole: Role = Role.Follower;
  private currentTerm = 0;
  /** Term of the hard state last written to storage (leaders replicate early only in it). */
  private durableTerm = 0;

  constructor(opts: RaftNodeOptions) {
    this.id = opts.id;
    this.opts = opts;
    this.resolved = resolveNodeOptions(opts);
    this.clock = this.resolved.clock;
    this.logger = this.resolved.logger;
    this.tickMs = this.resolved.tickMs;
    this.electionTicks = this.resolved.electionTicks;
    this.leadershipSignal = new LeadershipSignal(opts.id);
    if (opts.coreConfig !== undefined && "disableProposalForwarding" in opts.coreConfig) {
      throw new ShoalError(
        RaftErrorCode.InvalidConfig,
        "raft node coreConfig may not set disableProposalForwarding: the driver keeps forwarding off",
        {
          hint: "remove the field; a forwarded proposal's outcome cannot be reported, so a retry could apply it twice",
        },
      );
    }
    this.pending = new PendingProposals(opts.testingUnsafe === "resolveIgnoringTerm");
    this.readContexts = new ReadContexts(opts.id, this.resolved.random);
  }

  /** Index of the last entry applied to the state machine. */
  get applied(): number {
    return this.appliedIndex;
  }

  /** Current leader's id as this node knows it (0 = none). */
  get leader(): number {
    return this.leaderId;
  }

  get role(): Role {
    return this.currentRole;
  }

  get term(): number {
    return this.currentTerm;
  }

  isLeader(): boolean {
    return this.currentRole === Role.Leader;
  }

  /**
   * The leadership signal (leadership.ts): first the current state, then every change of role,
   * leader or leader's term, once each and in order, until the node stops or `signal` aborts.
   * `for await (const s of node.leadershipChanges(signal)) s.isLeader ? startLoops() : stopLoops();`
   */
  leadershipChanges(signal?: AbortSignal): AsyncIterableIterator<LeadershipState> {
    return this.leadershipSignal.subscribe(signal);
  }

  status(): Status | undefined {
    return this.core?.status();
  }

  /**
   * Restores the latest snapshot into the state machine, starts the core, the transport and the
   * timer, and resolves when the node stops (signal aborted or stop()). Rejects when the node
   * fails (storage or apply error), after shutting down.
   */
  async run(signal?: AbortSignal): Promise<void> {
    if (this.core !== undefined || this.stopping)
      throw new ShoalError(NodeErrorCode.AlreadyRunning, `raft node ${this.id} is already running`, {
        hint: "run() may be called once; create a new RaftNode to restart",
      });
    const storage = this.opts.storage;
    const snap = storage.snapshot();
    if (snap.meta.index > 0) await this.opts.restore?.(snap.data);
    this.appliedIndex = snap.meta.index;
    this.currentTerm = storage.initialState().hardState.term;
    this.durableTerm = this.currentTerm;
    const createCore = this.opts.createCore ?? ((config: RaftConfig) => new RawNode(config));
    this.core = createCore({
      electionTicks: this.electionTicks,
      heartbeatTicks: this.resolved.heartbeatTicks,
      ...this.opts.coreConfig,
      // Followers reject instead of forwarding: a forwarded entry's (index, term) is unknown here,
      // so its outcome could not be reported truthfully. Callers retry on the leader hint. Last,
      // so nothing above can turn it back on (the constructor also refuses the field).
      disableProposalForwarding: true,
      id: this.id,
      storage,
      applied: this.appliedIndex,
      random: this.resolved.random,
      logger: this.logger,
    });
    const finished = new Promise<void>((resolve) => {
      this.finished = resolve;
    });
    const onAbort = () => void this.stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      this.opts.transport.attach({
        receive: (m) => this.enqueue(() => this.inbox.push(m)),
        reportUnreachable: (id) => this.enqueue(() => this.unreachable.push(id)),
        reportSnapshot: (id, ok) => this.enqueue(() => this.snapshotReports.push([id, ok])),
      });
      this.attached = true;
      if (signal?.aborted) void this.stop();
      this.armTick();
      this.logger.info({ applied: this.appliedIndex, term: this.currentTerm }, "raft node started");
      this.kick();
      await finished;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Stops the timer, lets the Ready in flight finish, detaches from the transport (its owner
   * closes it), rejects what is pending.
   */
  async stop(): Promise<void> {
    if (this.stopping) {
      await this.pumpDone;
      return;
    }
    this.stopping = true;
    if (this.tickTimer !== undefined) this.clock.clearTimeout(this.tickTimer);
    for (const t of this.orphanTimers) this.clock.clearTimeout(t);
    this.orphanTimers.clear();
    await this.pumpDone;
    if (this.attached) this.opts.transport.detach();
    this.attached = false;
    const stopped = () =>
      new ShoalError(NodeErrorCode.Stopped, `raft node ${this.id} stopped before the request finished`, {
        ...(this.failure === undefined ? {} : { cause: this.failure }),
      });
    this.pending.rejectAll(stopped);
    for (const p of this.proposals) p.reject(stopped());
    this.proposals = [];
    for (const r of [...this.readQueue, ...this.reads.values()]) {
      this.clock.clearTimeout(r.timer);
      r.reject(stopped());
    }
    this.readQueue = [];
    this.reads.clear();
    this.logger.info({ applied: this.appliedIndex }, "raft node stopped");
    this.leadershipSignal.end();
    this.finished?.();
  }

  /**
   * Proposes `data` and resolves with its (index, term) once it is applied on this node. Rejects
   * with RAFT_NOT_LEADER (details.leader) on a follower, RAFT_ENTRY_REPLACED when another term's
   * entry took its slot, RAFT_LEADERSHIP_LOST when this node stopped leading and saw no outcome
   * within readTimeoutMs (the entry may still commit). Never resolves for an entry not applied.
   */
  propose(data: Uint8Array): Promise<Proposed> {
    if (data.byteLength === 0) {
      return Promise.reject(
        new ShoalError(
          NodeErrorCode.EmptyProposal,
          "proposal is empty; empty entries are reserved for raft's own no-ops",
        ),
      );
    }
    return this.queueProposal(data, undefined);
  }

  /** Proposes one membership change; settles like propose(). */
  proposeConfChange(change: ConfChange): Promise<Proposed> {
    return this.queueProposal(undefined, change);
  }

  /**
   * Linearizable read point: resolves with an index once this node has applied at least that far
   * and the leader confirmed, after the call began, that it was still leader. Reads of the local
   * state machine made after it resolves see every write acknowledged before the call.
   */
  readIndex(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.stopping) {
        reject(new ShoalError(NodeErrorCode.Stopped, `raft node ${this.id} is stopped`));
        return;
      }
      const context = this.readContexts.next();
      const key = keyOf(context);
      const timeoutMs = this.resolved.readTimeoutMs;
      const timer = this.clock.setTimeout(() => {
        this.readQueue = this.readQueue.filter((r) => r !== read);
        this.reads.delete(key);
        reject(
          new ShoalError(
            NodeErrorCode.ReadTimeout,
            `read index on raft node ${this.id} timed out after ${timeoutMs}ms`,
            {
              hint: "the cluster has no leader or no quorum; retry later",
              details: { leader: this.leaderId, timeoutMs },
            },
          ),
        );
      }, timeoutMs);
      const read: QueuedRead = { context, resolve, reject, timer };
      this.enqueue(() => this.readQueue.push(read));
    });
  }

  /** Asks for leadership to move to `to` (e.g. before a graceful shutdown). */
  transferLeadership(to: number): void {
    this.enqueue(() => this.transfers.push(to));
  }

  // ---- the loop --------------------------------------------------------------------------------

  private queueProposal(data: Uint8Array | undefined, change: ConfChange | undefined): Promise<Proposed> {
    return new Promise((resolve, reject) => {
      if (this.stopping) {
        reject(new ShoalError(NodeErrorCode.Stopped, `raft node ${this.id} is stopped`));
        return;
      }
      this.enqueue(() => this.proposals.push({ data, change, resolve, reject }));
    });
  }

  private enqueue(add: () => void): void {
    if (this.stopping) return;
    add();
    this.kick();
  }

  private armTick(): void {
    this.tickTimer = this.clock.setTimeout(() => {
      if (this.stopping) return;
      this.ticks++;
      this.kick();
      this.armTick();
    }, this.tickMs);
  }

  private kick(): void {
    if (this.pumping || this.core === undefined || this.stopping) return;
    this.pumping = true;
    this.pumpDone = this.pump()
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.pumping = false;
      });
  }

  private async pump(): Promise<void> {
    const core = this.core!;
    while (!this.stopping) {
      // Yield once to the microtask queue so that inputs queued by code that is still running
      // (several proposals in one turn) go into one Ready. Not a macrotask: that would add an
      // event-loop turn to every commit's latency.
      await Promise.resolve();
      if (this.stopping) return;
      this.feed(core);
      if (!core.hasReady()) return;
      const rd = core.ready();
      await this.handleReady(rd);
      core.advance(rd);
      await this.maybeSnapshot(core);
    }
  }

  /** Hands everything queued since the last Ready to the core. */
  private feed(core: RawNodeApi): void {
    for (; this.ticks > 0; this.ticks--) core.tick();
    const inbox = this.inbox;
    this.inbox = [];
    for (const m of inbox) core.step(m);
    for (const id of this.unreachable.splice(0)) core.reportUnreachable(id);
    for (const [id, ok] of this.snapshotReports.splice(0)) core.reportSnapshot(id, ok);
    for (const to of this.transfers.splice(0)) core.transferLeadership(to);
    const proposals = this.proposals;
    this.proposals = [];
    for (const p of proposals) {
      const result = p.data !== undefined ? core.propose(p.data) : core.proposeConfChange(p.change!);
      this.settleProposeResult(result, p);
    }
    const reads = this.readQueue;
    this.readQueue = [];
    for (const r of reads) {
      this.reads.set(keyOf(r.context), r);
      core.readIndex(r.context);
    }
  }

  private settleProposeResult(result: ProposeResult, p: QueuedProposal): void {
    if (result.ok && !result.forwarded) {
      this.pending.add(result.index, result.term, p.resolve, p.reject, () => this.leadershipLost(0));
      return;
    }
    const leader = result.leader;
    const reason = result.ok ? "forwarded" : result.reason;
    const code =
      reason === "notLeader" || reason === "forwarded"
        ? NodeErrorCode.NotLeader
        : NodeErrorCode.ProposalDropped;
    p.reject(
      new ShoalError(
        code,
        code === NodeErrorCode.NotLeader
          ? `raft node ${this.id} is not the leader (leader is ${leader === 0 ? "unknown" : `node ${leader}`})`
          : `proposal dropped by raft node ${this.id}: ${reason}`,
        {
          hint: leader === 0 ? "retry once a leader is elected" : `retry on node ${leader}`,
          details: { leader, reason },
        },
      ),
    );
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState.role, rd.softState.leader);
    if (rd.hardState !== undefined) this.currentTerm = rd.hardState.term;
    this.leadershipSignal.observe(this.currentTerm, this.leaderId, this.currentRole);

    // A leader may replicate in parallel with its own disk write (Raft thesis §10.2.1): appends,
    // heartbeats and snapshot chunks in its current (already durable) term promise nothing about
    // this batch. The leader's own copy still counts toward commit only once durable, because
    // follower acks are fed to the core after this batch is saved and advanced.
    let late = rd.messages;
    if (this.currentRole === Role.Leader && rd.messages.length > 0) {
      const durableTerm = this.durableTerm;
      const early: Message[] = [];
      late = [];
      for (const m of rd.messages) {
        if ((m.type === "app" || m.type === "heartbeat" || m.type === "snap") && m.term === durableTerm)
          early.push(m);
        else late.push(m);
      }
      if (early.length > 0) this.opts.transport.send(early);
    }
    // (1) Durable first. One write and one fsync for the whole batch.
    if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
      await this.opts.storage.save(rd.hardState, rd.entries, rd.snapshot, rd.mustSync);
    }
    if (rd.hardState !== undefined) this.durableTerm = rd.hardState.term;
    // (2) Only now may votes, acks and anything else that counts on this batch leave the node.
    if (late.length > 0) this.opts.transport.send(late);

    // (3) Apply.
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this.appliedIndex) {
      await this.opts.restore?.(rd.snapshot.data);
      this.appliedIndex = rd.snapshot.meta.index;
      this.appliedBytesSinceSnapshot = 0;
      this.pending.coveredBySnapshot(rd.snapshot.meta.index);
      this.logger.info(
        { index: rd.snapshot.meta.index, term: rd.snapshot.meta.term },
        "raft node restored snapshot",
      );
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.appliedIndex) continue;
      if (e.type === EntryType.ConfChange || e.data.byteLength > 0) await this.opts.apply(e);
      this.appliedIndex = e.index;
      this.appliedBytesSinceSnapshot += e.data.byteLength;
      this.pending.applied(e);
      if (e.type === EntryType.ConfChange) this.leadershipSignal.observeApplied(e, this.currentTerm);
    }
    for (const rs of rd.readStates) {
      // Answers to requests of an earlier incarnation carry another nonce and match nothing here.
      const read = this.readContexts.owns(rs.context) ? this.reads.get(keyOf(rs.context)) : undefined;
      if (read !== undefined) read.index = rs.index;
    }
    this.settleReads();
  }

  private onSoftState(role: Role, leader: number): void {
    const wasLeader = this.currentRole === Role.Leader;
    if (leader !== this.leaderId || role !== this.currentRole) {
      this.logger.info({ role, leader, term: this.currentTerm }, "raft node role changed");
    }
    this.currentRole = role;
    this.leaderId = leader;
    if (wasLeader && role !== Role.Leader && this.pending.size > 0) {
      // The proposals stay pending: the entry this node applies at each one's index settles it
      // (ours: applied; another term's: replaced), usually as soon as the new leader's first
      // commit reaches us. Only what is still open after readTimeoutMs is given up as unknown.
      const token = this.pending.orphanAll();
      const timer = this.clock.setTimeout(() => {
        this.orphanTimers.delete(timer);
        this.pending.expireOrphans(token, () => this.leadershipLost(this.leaderId));
      }, this.resolved.readTimeoutMs);
      this.orphanTimers.add(timer);
    }
  }

  private leadershipLost(leader: number): ShoalError {
    return new ShoalError(
      NodeErrorCode.LeadershipLost,
      `raft node ${this.id} lost leadership and did not see the proposal's outcome`,
      {
        hint: "the entry may still be committed by the new leader; retry only idempotent requests, or read back first",
        details: { leader },
      },
    );
  }

  private settleReads(): void {
    for (const [key, r] of this.reads) {
      if (r.index !== undefined && r.index <= this.appliedIndex) {
        this.reads.delete(key);
        this.clock.clearTimeout(r.timer);
        r.resolve(r.index);
      }
    }
  }

  private async maybeSnapshot(core: RawNodeApi): Promise<void> {
    const every = this.resolved.snapshotEntries;
    const take = this.opts.snapshot;
    const storage = this.opts.storage;
    if (every <= 0 || take === undefined) return;
    const since = this.appliedIndex - storage.snapshot().meta.index;
    const bytesLimit = this.resolved.snapshotBytes;
    const byBytes = bytesLimit > 0 && this.appliedBytesSinceSnapshot >= bytesLimit;
    if (since <= 0 || (since < every && !byBytes && !this.snapshotLacksCatchingUpMember(core))) return;
    const index = this.appliedIndex;
    const data = await take();
    await storage.createSnapshot(index, core.status().confState, data);
    this.appliedBytesSinceSnapshot = 0;
    const compactTo = this.catchUpStart(index);
    if (compactTo > storage.firstIndex()) await storage.compact(compactTo);
    this.logger.info({ index, bytes: data.byteLength }, "raft node took snapshot");
  }

  /**
   * Where the log may start behind a snapshot at `index`: `snapshotCatchUpEntries` back, but no
   * more of them than `snapshotCatchUpBytes` hold (the newest kept), so a log of large entries
   * does not keep hundreds of MiB for a follower that may never need them.
   */
  private catchUpStart(index: number): number {
    const byCount = index - this.resolved.snapshotCatchUpEntries;
    const maxBytes = this.resolved.snapshotCatchUpBytes;
    const storage = this.opts.storage;
    const lo = Math.max(byCount, storage.firstIndex()) + 1;
    if (maxBytes <= 0 || lo > index) return byCount;
    const kept = storage.entries(lo, index + 1, Number.MAX_SAFE_INTEGER);
    let bytes = 0;
    for (let i = kept.length - 1; i >= 0; i--) {
      bytes += (kept[i] as Entry).data.byteLength;
      if (bytes > maxBytes) return (kept[i] as Entry).index;
    }
    return byCount;
  }

  /**
   * A leader whose newest snapshot predates a member (a learner added since) cannot catch that
   * member up with it: the member refuses a snapshot whose configuration lacks it, and with the log
   * compacted there is nothing else to send. Take a fresh one then (etcd builds the snapshot it
   * sends at send time for the same reason).
   */
  private snapshotLacksCatchingUpMember(core: RawNodeApi): boolean {
    if (this.currentRole !== Role.Leader) return false;
    const snap = this.opts.storage.snapshot().meta;
    if (this.appliedIndex <= snap.index) return false;
    const status = core.status();
    for (const [id, pr] of status.progress) {
      if (pr.state !== "snapshot") continue;
      if (!snap.confState.voters.includes(id) && !snap.confState.learners.includes(id)) return true;
    }
    return false;
  }

  private fail(err: unknown): void {
    this.logger.error({ err }, "raft node failed; stopping");
    this.failure ??= err;
    this.pumping = false;
    void this.stop();
  }
}

function keyOf(context: Uint8Array): string {
  return Buffer.from(context).toString("base64");
}
