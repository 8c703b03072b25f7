import { type Random, ShoalError, seededRandom, silentLogger } from "@shoal/base";
import type { Config } from "@shoal/proto";
import type { Message } from "@shoal/raft";
import { EventQueue, FaultDisk, type MountHooks, Partitions, SimProcess } from "@shoal/raft/sim";
import type { Transport, TransportHandler } from "@shoal/raft/transport";
import { type WalFileSystem, WalStorage } from "@shoal/raft/wal";
import {
  type ProposalForwarding,
  ReplicatedStore,
  StoreErrorCode,
  type StoreEvent,
} from "../../src/index.js";
import { History } from "./history.js";

// The store on the raft production-driver simulator: every member a real ReplicatedStore (RaftNode
// over WalStorage) on a fault-injecting disk (FaultDisk), each in a SimProcess on one virtual
// clock, with the network losing, delaying, duplicating and reordering messages, partitions,
// leader isolation, transfers, process pauses, crashes at fsyncs and power losses. Proposals made
// on followers are forwarded over the same faulty network. A seed replays exactly: every choice
// comes from one seeded Random and every timer, delivery and disk completion is a queue event.

export interface StoreSimOptions {
  seed: number;
  nodes: number;
  /** Virtual time with client load and faults. Default 2,000 ms. */
  workloadMs?: number;
  clients?: number;
  /** A deliberate bug in what the harness sees, which the checks must catch (sim-checks.test.ts). */
  broken?: StoreSimMutation;
}

/**
 * `dropWatchEvent`/`repeatWatchEvent`: a watcher misses or repeats a change now and then;
 * `conflictAsAcked`: a writer is told success for a transaction that failed with a conflict;
 * `localReads`: linearizable reads served from the local replica without a ReadIndex.
 */
export type StoreSimMutation = "dropWatchEvent" | "repeatWatchEvent" | "conflictAsAcked" | "localReads";

export interface StoreSimResult {
  ok: boolean;
  seed: number;
  violation?: string;
  acked: number;
  readsOk: number;
  rejected: number;
  unknown: number;
  watchEvents: number;
  resyncs: number;
  /** Members added during the run (and the number retired after their removal). */
  added: number;
  retired: number;
}

export class StoreSimViolation extends Error {}

const TICK_MS = 10;
const SEGMENT_BYTES = 16 * 1024;
const PROPOSAL_TIMEOUT_MS = 1500;
/** A client gives up on a request after this (its member may have died with it). */
const CLIENT_TIMEOUT_MS = 1600;
/** After healing, a write must commit and be applied by every member within this. */
export const STORE_LIVENESS_BOUND_MS = 5000;

/** One watcher: the state it rebuilt from its initial view and every event since. */
interface WatchState {
  objects: Map<string, Config>;
  lastCommit: number;
  /** Changes seen since the last commit event. */
  open: StoreEvent[];
}

class Member {
  readonly proc: SimProcess;
  readonly disk: FaultDisk;
  store: ReplicatedStore | undefined;
  handler: TransportHandler | undefined;
  served: ((entry: Uint8Array) => Promise<void>) | undefined;
  watch: WatchState | undefined;
  /** Removed from the cluster (its removal applied by the leader): never started again. */
  retired = false;
  private readonly slowDisk: boolean;

  constructor(
    readonly id: number,
    private readonly sim: StoreSimulator,
  ) {
    this.proc = new SimProcess(id, sim.queue);
    this.disk = new FaultDisk(`m${id}`);
    this.slowDisk = sim.random.chance(0.5);
  }

  get alive(): boolean {
    return this.proc.alive;
  }

  /** Writes the bootstrap log durably before the cluster starts, as an installer would. */
  async provision(voters: number[]): Promise<void> {
    const hooks: MountHooks = {
      wait: async () => {},
      syncLatencyMs: () => 0,
      crashAt: () => false,
      dead: () => new Promise<never>(() => {}),
      alive: () => true,
    };
    const wal = await WalStorage.open({
      dir: `/m${this.id}`,
      segmentBytes: SEGMENT_BYTES,
      bootstrapVoters: voters,
      fileSystem: this.disk.mount(hooks),
    });
    await wal.close();
  }

  start(): void {
    if (this.proc.alive || this.retired) return;
    const sim = this.sim;
    const proc = this.proc;
    proc.alive = true;
    proc.incarnation++;
    proc.resume();
    proc.drift = 0.9 + sim.random.next() * 0.2;
    const incarnation = proc.incarnation;
    const live = () => proc.alive && proc.incarnation === incarnation;
    const random = sim.random.split();
    const fileSystem: WalFileSystem = this.disk.mount({
      wait: (ms) => proc.wait(ms),
      syncLatencyMs: () => (this.slowDisk && random.chance(0.5) ? random.intBetween(2, 40) : random.int(3)),
      crashAt: () => {
        const rate = sim.crashRate();
        if (rate <= 0 || !random.chance(rate)) return false;
        this.crash();
        return true;
      },
      dead: () => new Promise<never>(() => {}),
      alive: live,
    });
    this.handler = undefined;
    this.served = undefined;
    this.watch = undefined;
    const transport: Transport = {
      attach: (h) => {
        if (live()) this.handler = h;
      },
      detach: () => {
        if (live()) this.handler = undefined;
      },
      send: (messages) => {
        if (!live()) return;
        sim.send(this.id, messages);
        // Crash right after promising durability (a vote, an append ack), often back at once.
        const rate = sim.crashRate();
        if (rate <= 0) return;
        const vote = messages.some((m) => m.type === "voteResp" && !m.reject);
        const ack = messages.some((m) => m.type === "appResp" && !m.reject);
        if ((vote && random.chance(rate * 15)) || (ack && random.chance(rate / 2))) {
          this.crash();
          if (random.chance(0.7)) sim.queue.schedule(random.intBetween(1, 30), () => this.start());
        }
      },
    };
    const forwarding: ProposalForwarding = {
      forward: (leader, entry) => sim.forward(this.id, leader, entry),
      serve: (_id, handler) => {
        if (live()) this.served = handler;
      },
      unserve: () => {
        if (live()) this.served = undefined;
      },
    };
    void (async () => {
      let store: ReplicatedStore;
      try {
        store = await ReplicatedStore.open({
          id: this.id,
          dir: `/m${this.id}`,
          transport,
          forwarding,
          wal: { fileSystem, segmentBytes: SEGMENT_BYTES },
          clock: proc.clock(),
          random,
          logger: silentLogger(),
          proposalTimeoutMs: PROPOSAL_TIMEOUT_MS,
          raft: {
            tickMs: TICK_MS,
            electionTicks: 10,
            heartbeatTicks: 1,
            snapshotEntries: sim.snapshotEntries,
            snapshotCatchUpEntries: Math.floor(sim.snapshotEntries / 4),
            readTimeoutMs: 600,
            coreConfig: { maxSizePerMsg: sim.maxSizePerMsg, snapshotChunkBytes: 512 },
          },
        });
      } catch (err) {
        if (live()) sim.fail(`member ${this.id} cannot restart: ${String(err)}`);
        return;
      }
      if (!live()) return;
      this.store = store;
      store.run().catch((err: unknown) => {
        if (live()) sim.fail(`member ${this.id} failed: ${String(err)}`);
      });
      this.resync(live);
    })();
  }

  /** Opens a watcher with a consistent view (again after STORE_WATCH_LAGGED) and checks each event. */
  private resync(live: () => boolean): void {
    const store = this.store;
    if (store === undefined || !live()) return;
    const { result, events } = store.viewAndWatch(
      (tx) => ({ objects: new Map(tx.configs.list().map((c) => [c.id, c])), index: store.applied }),
      this.sim.watchQueue === undefined ? {} : { maxQueuedEvents: this.sim.watchQueue },
    );
    const w: WatchState = { objects: result.objects, lastCommit: result.index, open: [] };
    this.watch = w;
    void (async () => {
      try {
        for await (const e of events) {
          if (!live()) return;
          const broken = this.sim.opts.broken;
          if (broken === "dropWatchEvent" && e.kind === "change" && this.sim.random.chance(0.02)) continue;
          this.sim.checkEvent(this.id, w, e);
          if (broken === "repeatWatchEvent" && e.kind === "change" && this.sim.random.chance(0.02))
            this.sim.checkEvent(this.id, w, e);
        }
      } catch (err) {
        if (!live()) return;
        if (err instanceof ShoalError && err.code === StoreErrorCode.WatchLagged) {
          this.sim.resyncs++;
          this.resync(live);
          return;
        }
        if (err instanceof ShoalError && err.code === StoreErrorCode.Closed) return;
        this.sim.fail(`member ${this.id}: watch failed: ${String(err)}`);
      }
    })();
  }

  /** The process dies; with a power loss (the usual case) its unsynced disk writes go too. */
  crash(powerLoss = this.sim.random.chance(0.7)): void {
    if (!this.proc.alive) return;
    this.proc.alive = false;
    this.proc.incarnation++;
    this.store = undefined;
    this.handler = undefined;
    this.served = undefined;
    this.watch = undefined;
    if (powerLoss) this.disk.crash(this.sim.random);
  }
}

export class StoreSimulator {
  readonly queue = new EventQueue();
  readonly random: Random;
  readonly members = new Map<number, Member>();
  readonly history: History;
  readonly snapshotEntries: number;
  readonly maxSizePerMsg: number;
  readonly watchQueue: number | undefined;
  faults = { net: true, crashes: true, pauses: true };
  /** A member being added (learner, then voter). */
  joining: number | undefined;
  private membership = true;
  resyncs = 0;
  watchEvents = 0;
  /** What each committed index changed, as the first watcher saw it (members must agree). */
  private readonly committed = new Map<number, string>();
  private readonly partitions = new Partitions();
  private readonly slowLinks = new Map<string, number>();
  private readonly delayMaxMs: number;
  private violation: string | undefined;

  constructor(readonly opts: StoreSimOptions) {
    this.random = seededRandom(opts.seed);
    this.snapshotEntries = this.random.pick([10, 30, 100]);
    this.maxSizePerMsg = this.random.pick([1, 4096, 65_536]);
    this.watchQueue = this.random.pick([6, 50, undefined]);
    this.delayMaxMs = this.random.pick([5, 26]);
    this.history = new History(opts.broken === "conflictAsAcked", opts.broken === "localReads");
    for (let id = 1; id <= opts.nodes; id++) this.members.set(id, new Member(id, this));
  }

  fail(violation: string): void {
    this.violation ??= violation;
  }

  crashRate(): number {
    return this.faults.crashes ? 0.003 : 0;
  }

  // ---- network ------------------------------------------------------------------------------

  connected(a: number, b: number): boolean {
    return this.partitions.connected(a, b);
  }

  private delay(from: number, to: number): number {
    const net = this.faults.net;
    let d =
      net && this.random.chance(0.02)
        ? this.random.intBetween(200, 2200)
        : this.random.int(this.delayMaxMs + 1);
    const slowUntil = this.slowLinks.get(`${Math.min(from, to)}-${Math.max(from, to)}`) ?? 0;
    if (net && this.queue.now < slowUntil) d += this.random.intBetween(200, 1000);
    return d;
  }

  private lost(from: number, to: number): boolean {
    return !this.connected(from, to) || (this.faults.net && this.random.chance(0.1));
  }

  send(from: number, messages: readonly Message[]): void {
    const sender = this.members.get(from);
    for (const m of messages) {
      const dest = this.members.get(m.to);
      if (dest === undefined || this.lost(from, m.to)) {
        if (m.type === "snap") sender?.proc.schedule(5, () => sender.handler?.reportSnapshot(m.to, false));
        else if (!this.connected(from, m.to))
          sender?.proc.schedule(5, () => sender.handler?.reportUnreachable(m.to));
        continue;
      }
      const copies = this.faults.net && this.random.chance(0.02) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        this.queue.schedule(this.delay(from, m.to), () => {
          if (!this.connected(from, m.to)) return;
          dest.proc.schedule(0, () => {
            dest.handler?.receive(m);
            if (m.type === "snap" && m.done)
              sender?.proc.schedule(1, () => sender.handler?.reportSnapshot(m.to, true));
          });
        });
      }
    }
  }

  /**
   * Proposal forwarding over the same network: a request that never reached the leader fails with
   * STORE_NO_LEADER (it entered no log); a lost reply is a transport error (outcome unknown).
   */
  forward(from: number, leader: number, entry: Uint8Array): Promise<void> {
    const src = this.members.get(from);
    const dest = this.members.get(leader);
    return new Promise<void>((resolve, reject) => {
      if (src === undefined) return;
      const notDelivered = () =>
        src.proc.schedule(5, () =>
          reject(new ShoalError(StoreErrorCode.NoLeader, `forward to member ${leader} was not delivered`)),
        );
      if (dest === undefined || this.lost(from, leader)) {
        notDelivered();
        return;
      }
      const copy = entry.slice();
      this.queue.schedule(this.delay(from, leader), () => {
        if (!this.connected(from, leader)) {
          notDelivered();
          return;
        }
        dest.proc.schedule(0, () => {
          const handler = dest.served;
          if (handler === undefined) {
            notDelivered();
            return;
          }
          const reply = (settle: () => void) => {
            if (this.lost(leader, from)) {
              src.proc.schedule(5, () => reject(new Error(`reply from member ${leader} lost`)));
              return;
            }
            this.queue.schedule(this.delay(leader, from), () => src.proc.schedule(0, settle));
          };
          handler(copy).then(
            () => reply(() => resolve()),
            (err: unknown) => reply(() => reject(err)),
          );
        });
      });
    });
  }

  isolate(id: number): void {
    this.partitions.move(id, 1 + this.random.int(1000));
  }

  partition(groups: number[][]): void {
    this.partitions.partition(groups);
  }

  heal(): void {
    this.partitions.heal();
  }

  slowLink(a: number, b: number, untilMs: number): void {
    this.slowLinks.set(`${Math.min(a, b)}-${Math.max(a, b)}`, untilMs);
  }

  /** The live member that believes it leads, with the highest term. */
  leader(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members.values()) {
      const raft = m.store?.raft;
      if (!m.alive || m.retired || raft === undefined || !raft.isLeader()) continue;
      if (best === undefined || raft.term > (best.store?.raft.term ?? 0)) best = m;
    }
    return best;
  }

  // ---- watches ------------------------------------------------------------------------------

  /**
   * One event of a member's watcher: changes apply to the state it rebuilt (the old object must be
   * exactly the one it holds — a missed or repeated change breaks this), then a commit event with
   * a strictly larger index; what an index changed must be the same on every member.
   */
  checkEvent(member: number, w: WatchState, e: StoreEvent): void {
    this.watchEvents++;
    const problem = this.eventProblem(member, w, e);
    if (problem !== undefined) this.fail(problem);
  }

  private eventProblem(member: number, w: WatchState, e: StoreEvent): string | undefined {
    const where = `member ${member} watch`;
    if (e.kind === "commit") {
      if (e.index <= w.lastCommit)
        return `${where}: commit ${e.index} after commit ${w.lastCommit} (repeated or out of order)`;
      const sig = w.open.map((c) => signature(c)).join(";");
      const seen = this.committed.get(e.index);
      if (seen === undefined) this.committed.set(e.index, sig);
      else if (seen !== sig) return `${where}: index ${e.index} changed [${sig}], elsewhere [${seen}]`;
      w.lastCommit = e.index;
      w.open = [];
      return undefined;
    }
    if (e.objectKind !== "config") return `${where}: unexpected ${e.objectKind} change`;
    if (e.index <= w.lastCommit) return `${where}: change at index ${e.index} after commit ${w.lastCommit}`;
    const held = w.objects.get(e.id);
    const old = e.old as Config | undefined;
    if ((held?.meta?.version ?? -1) !== (old?.meta?.version ?? -1))
      return `${where}: ${e.action} of ${e.id} at ${e.index} names old version ${old?.meta?.version ?? "none"}, the watcher holds ${held?.meta?.version ?? "none"}`;
    const obj = e.object as Config | undefined;
    if (obj === undefined) w.objects.delete(e.id);
    else {
      if (obj.meta?.version !== e.index)
        return `${where}: ${e.id} written at ${e.index} carries version ${obj.meta?.version}`;
      w.objects.set(e.id, obj);
    }
    w.open.push(e);
    return undefined;
  }

  // ---- clients ------------------------------------------------------------------------------

  private startClients(count: number, until: number): void {
    for (let c = 0; c < count; c++) this.clientLoop(c, until);
  }

  private clientLoop(client: number, until: number): void {
    this.queue.schedule(this.random.int(30), () => {
      if (this.queue.now >= until) return;
      const live = this.current().filter((m) => m.alive && m.store !== undefined);
      if (live.length === 0) {
        this.clientLoop(client, until);
        return;
      }
      const m = this.random.pick(live);
      m.proc.schedule(0, () => {
        const store = m.store;
        if (store === undefined) {
          this.clientLoop(client, until);
          return;
        }
        let done = false;
        const next = () => {
          if (done) return;
          done = true;
          this.clientLoop(client, until);
        };
        if (this.random.chance(0.15)) {
          this.history.read(store).then(next, next);
          this.queue.schedule(CLIENT_TIMEOUT_MS, next);
          return;
        }
        const op = this.history.begin(client, m.id, this.random, store);
        op.promise.then(next, next);
        this.queue.schedule(CLIENT_TIMEOUT_MS, () => {
          if (!done) this.history.abandon(op);
          next();
        });
      });
    });
  }

  // ---- faults -------------------------------------------------------------------------------

  private nemesis(until: number): void {
    this.queue.schedule(this.random.intBetween(80, 400), () => {
      if (this.queue.now >= until) return;
      this.nemesisStep();
      this.nemesis(until);
    });
  }

  private nemesisStep(): void {
    const ids = this.current().map((m) => m.id);
    const roll = this.random.next();
    if (roll < 0.25) {
      if (this.random.chance(0.5)) {
        const shuffled = this.random.shuffle(ids.slice());
        const cut = this.random.intBetween(1, ids.length - 1);
        this.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
      } else {
        const l = this.leader();
        if (l !== undefined) this.isolate(l.id);
      }
    } else if (roll < 0.4) {
      this.heal();
    } else if (roll < 0.45) {
      const l = this.leader();
      if (l?.store !== undefined) {
        const to = this.random.pick(ids);
        l.proc.schedule(0, () => l.store?.raft.transferLeadership(to));
      }
    } else if (roll < 0.5) {
      const [a, b] = this.random.shuffle(ids.slice());
      if (a !== undefined && b !== undefined)
        this.slowLink(a, b, this.queue.now + this.random.intBetween(300, 1500));
    } else if (roll < 0.62) {
      const l = this.leader();
      const victim = l !== undefined && this.random.chance(0.7) ? l : this.members.get(this.random.pick(ids));
      if (victim?.alive) {
        victim.proc.pause(this.random.intBetween(300, 1500));
        if (this.random.chance(0.5)) this.isolate(victim.id);
      }
    } else if (roll < 0.72) {
      if (this.membership) this.changeMembership();
    } else if (roll < 0.9) {
      const alive = ids.filter((id) => this.members.get(id)?.alive);
      if (alive.length > Math.floor(ids.length / 2) + 1 || this.random.chance(0.1))
        this.members.get(this.random.pick(alive.length > 0 ? alive : ids))?.crash();
    }
    for (const m of this.members.values()) if (!m.alive && this.random.chance(0.5)) m.start();
  }

  /** Members not retired (a removed member is retired once the leader applied its removal). */
  current(): Member[] {
    return [...this.members.values()].filter((m) => !m.retired);
  }

  /**
   * Membership churn from the leader's view: retire members whose removal it applied, add a fresh
   * (empty) member as a learner and promote it, or remove a voter.
   */
  private changeMembership(): void {
    const l = this.leader();
    const raft = l?.store?.raft;
    const cs = raft?.status()?.confState;
    if (l === undefined || raft === undefined || cs === undefined) return;
    for (const m of this.current()) {
      if (m.id !== this.joining && !cs.voters.includes(m.id) && !cs.learners.includes(m.id)) {
        m.crash(false);
        m.retired = true;
      }
    }
    const propose = (change: Parameters<typeof raft.proposeConfChange>[0]) =>
      l.proc.schedule(0, () => {
        raft.proposeConfChange(change).catch(() => undefined);
      });
    if (this.joining !== undefined) {
      const j = this.joining;
      if (cs.voters.includes(j)) this.joining = undefined;
      else if (cs.learners.includes(j)) propose({ type: "addVoter", nodeId: j });
      else propose({ type: "addLearner", nodeId: j });
      return;
    }
    if (cs.voters.length > 3 || (cs.voters.length === 3 && this.random.chance(0.3))) {
      propose({ type: "removeNode", nodeId: this.random.pick(cs.voters) });
    } else {
      const id = Math.max(...this.members.keys()) + 1;
      const m = new Member(id, this);
      this.members.set(id, m);
      m.start();
      this.joining = id;
      propose({ type: "addLearner", nodeId: id });
    }
  }

  // ---- running ------------------------------------------------------------------------------

  private async runUntil(pred: () => boolean, maxMs: number): Promise<boolean> {
    const until = this.queue.now + maxMs;
    for (;;) {
      if (this.violation !== undefined) throw new StoreSimViolation(this.violation);
      if (pred()) return true;
      const e = this.queue.popDue(until);
      if (e === undefined) break;
      e.run();
      await new Promise<void>((r) => setImmediate(r));
    }
    if (this.queue.now < until) this.queue.now = until;
    if (this.violation !== undefined) throw new StoreSimViolation(this.violation);
    return pred();
  }

  private runFor(ms: number): Promise<boolean> {
    return this.runUntil(() => false, ms);
  }

  async run(): Promise<StoreSimResult> {
    const workloadMs = this.opts.workloadMs ?? 2000;
    try {
      const voters = [...this.members.keys()];
      for (const m of this.members.values()) await m.provision(voters);
      for (const m of this.members.values()) m.start();
      this.startClients(this.opts.clients ?? 6, workloadMs);
      this.nemesis(workloadMs);
      await this.runFor(workloadMs);
      // Heal everything; every member that is down comes back.
      this.faults = { net: false, crashes: false, pauses: false };
      this.membership = false;
      this.heal();
      for (const m of this.members.values()) {
        m.proc.resume();
        m.start();
      }
      await this.runFor(CLIENT_TIMEOUT_MS + 100);
      await this.converge();
      this.check();
      return this.result(true);
    } catch (err) {
      if (err instanceof StoreSimViolation) return this.result(false, err.message);
      const e = err as Error;
      return this.result(false, `exception: ${e.stack ?? e.message}`);
    }
  }

  /** A final write through the leader, applied by every member within the bound. */
  private async converge(): Promise<void> {
    const deadline = this.queue.now + STORE_LIVENESS_BOUND_MS;
    let index: number | undefined;
    while (index === undefined) {
      const left = deadline - this.queue.now;
      if (left <= 0)
        throw new StoreSimViolation(`no write committed ${STORE_LIVENESS_BOUND_MS}ms after healing`);
      const l = this.leader();
      if (l?.store === undefined) {
        await this.runFor(Math.min(20, left));
        continue;
      }
      const op = this.history.final(l.store);
      let settled = false;
      op.promise.then(
        () => {
          index = op.index;
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await this.runUntil(() => settled, left);
    }
    const target = index;
    const members = this.configured();
    const applied = await this.runUntil(
      () =>
        members.every(
          (m) =>
            m.store !== undefined &&
            m.store.applied >= target &&
            m.watch !== undefined &&
            m.watch.lastCommit >= m.store.applied,
        ),
      deadline - this.queue.now,
    );
    if (!applied) {
      const lag = members
        .map((m) => `${m.id}@${m.store?.applied ?? "down"}/watch@${m.watch?.lastCommit}`)
        .join(" ");
      throw new StoreSimViolation(
        `final write at ${target} not applied and watched everywhere in time: ${lag}`,
      );
    }
    // Let every member reach the same applied index (a follower may be one entry behind).
    const top = Math.max(...members.map((m) => m.store?.applied ?? 0));
    await this.runUntil(() => members.every((m) => (m.store?.applied ?? 0) >= top), 1000);
  }

  /** The members in the leader's configuration (voters and learners). */
  private configured(): Member[] {
    const cs = this.leader()?.store?.raft.status()?.confState;
    const ids = cs === undefined ? [] : [...cs.voters, ...cs.learners];
    return ids.map((id) => this.members.get(id)).filter((m): m is Member => m !== undefined && !m.retired);
  }

  private check(): void {
    const members = this.configured();
    if (members.length === 0) throw new StoreSimViolation("no leader after healing");
    const hashes = members.map((m) => `${m.id}:${m.store?.applied}:${m.store?.stateHash().slice(0, 12)}`);
    if (new Set(hashes.map((h) => h.slice(h.indexOf(":") + 1))).size !== 1)
      throw new StoreSimViolation(`members differ after healing: ${hashes.join(" ")}`);
    const store = members[0]?.store;
    if (store === undefined) throw new StoreSimViolation("no member up after healing");
    const final = store.view((tx) => new Map(tx.configs.list().map((c) => [c.id, c])));
    for (const m of members) {
      const w = m.watch;
      if (w === undefined) throw new StoreSimViolation(`member ${m.id} has no watcher after healing`);
      const got = [...w.objects.values()].map((c) => `${c.id}@${c.meta?.version}`).sort();
      const want = [...final.values()].map((c) => `${c.id}@${c.meta?.version}`).sort();
      if (got.join() !== want.join())
        throw new StoreSimViolation(
          `member ${m.id}'s watcher rebuilt [${got}] but the store holds [${want}]`,
        );
    }
    // An acknowledged transaction's changes are in the entry at the index it was told.
    for (const op of this.history.ops) {
      if (op.status !== "ok" || op.index === undefined) continue;
      const sig = this.committed.get(op.index);
      if (sig === undefined) continue; // every watcher was resyncing across that index
      const ids = new Set(sig.split(";").map((c) => c.split(" ")[1]));
      const missing = op.ids.find((id) => !ids.has(id));
      if (missing !== undefined)
        throw new StoreSimViolation(
          `transaction ${op.token} was acknowledged at ${op.index}, but the watchers saw no change of ${missing} there [${sig}]`,
        );
    }
    const problem = this.history.check(final);
    if (problem !== undefined) throw new StoreSimViolation(problem);
    if (this.history.acked === 0)
      throw new StoreSimViolation("no transaction was acknowledged; every seed needs some");
  }

  private result(ok: boolean, violation?: string): StoreSimResult {
    const r: StoreSimResult = {
      ok,
      seed: this.opts.seed,
      acked: this.history.acked,
      readsOk: this.history.readsOk,
      rejected: this.history.rejected,
      unknown: this.history.unknown,
      watchEvents: this.watchEvents,
      resyncs: this.resyncs,
      added: this.members.size - this.opts.nodes,
      retired: [...this.members.values()].filter((m) => m.retired).length,
    };
    if (violation !== undefined) r.violation = violation;
    return r;
  }
}

function signature(e: StoreEvent): string {
  if (e.kind === "commit") return `commit ${e.index}`;
  const o = e.object as Config | undefined;
  return `${e.action} ${e.id} ${o === undefined ? "-" : Object.keys(o.spec?.labels ?? {}).length}`;
}

/** Cluster size of a seed: 3, 3, 5 in turn. */
export function storeSimNodesForSeed(seed: number): number {
  return seed % 3 === 2 ? 5 : 3;
}

export function storeSimReplayCommand(seed: number, nodes: number): string {
  return `npm run sim -w @shoal/store -- --seeds 1 --from ${seed} --nodes ${nodes}`;
}
