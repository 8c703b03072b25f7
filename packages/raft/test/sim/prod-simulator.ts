import { type Random, seededRandom } from "@shoal/base";
import type { Message, RaftConfig, Storage } from "@shoal/raft";
import { EventQueue } from "./event-queue.js";
import { encodeCommand } from "./kv.js";
import { checkHistory } from "./linearizability.js";
import { Partitions } from "./partitions.js";
import { CLIENT_TIMEOUT_MS, ProdClients } from "./prod-clients.js";
import { prodNemesis } from "./prod-nemesis.js";
import { type DriverMutation, type ProdHost, ProdNode } from "./prod-node.js";
import { SafetyChecker, SafetyViolation } from "./safety.js";
import type { SimResult } from "./simulator.js";

type TestingUnsafeCore = NonNullable<RaftConfig["testingUnsafe"]>;
/** Every deliberate bug the checkers must catch, in the core or in the driver. */
export type Mutation = TestingUnsafeCore | DriverMutation;
const DRIVER_MUTATIONS = new Set<string>(["voteBeforePersist", "resolveIgnoringTerm"]);

export interface ProdSimOptions {
  seed: number;
  nodes: number;
  /** Virtual time with client load and faults. Default 2,500 ms. */
  workloadMs?: number;
  clients?: number;
  mutation?: Mutation;
}

const REPLIES = new Set(["appResp", "voteResp", "preVoteResp", "heartbeatResp", "readIndexResp"]);
/** After healing, a write must commit and be applied by every live member within this. */
export const LIVENESS_BOUND_MS = 5000;

/**
 * The production-driver simulation: every node a real RaftNode over a real WalStorage on a
 * fault-injecting disk (FaultDisk), the network delaying, dropping, duplicating and reordering
 * messages, all on one virtual clock. Async code runs for real: after each event the simulator
 * lets the microtask queue drain (one setImmediate), and since every timer, delivery and disk
 * completion is an event of the queue, a seed replays exactly.
 */
export class ProdSimulator implements ProdHost {
  readonly queue = new EventQueue();
  readonly random: Random;
  readonly checker = new SafetyChecker();
  readonly disks = new Map<number, Storage>();
  readonly nodes = new Map<number, ProdNode>();
  readonly clients: ProdClients;
  readonly coreConfig: Partial<RaftConfig>;
  readonly mutation: DriverMutation | undefined;
  readonly snapshotEntries: number;
  readonly powerLossShare = 0.7;
  /** Fault switches; the quiet period after the workload turns them off. */
  faults = { net: true, crashes: true, pauses: true, membership: true };
  joining: number | undefined;
  nextNodeId = 0;
  private readonly partitions = new Partitions();
  private readonly slowLinks = new Map<string, number>();
  private violation: SafetyViolation | undefined;
  private readonly delayMaxMs: number;
  /** Per destination, the highest append acknowledgement each sender sent it in each term. */
  private readonly pastAcks = new Map<number, Map<string, Message>>();

  constructor(readonly opts: ProdSimOptions) {
    this.random = seededRandom(opts.seed);
    const m = opts.mutation;
    this.mutation = m !== undefined && DRIVER_MUTATIONS.has(m) ? (m as DriverMutation) : undefined;
    this.coreConfig = {
      maxSizePerMsg: this.random.pick([1, 256, 4096]),
      maxInflightMsgs: opts.seed % 4 === 0 ? 1 : 64,
      ...(m !== undefined && this.mutation === undefined ? { testingUnsafe: m as TestingUnsafeCore } : {}),
    };
    this.snapshotEntries = this.random.pick([20, 40, 80]);
    this.delayMaxMs = this.random.pick([5, 26]);
    this.clients = new ProdClients(
      {
        nodes: this.nodes,
        members: () => this.members(),
        pick: (items) => this.random.pick(items),
        int: (n) => this.random.int(n),
        next: () => this.random.next(),
        later: (d, fn) => this.queue.schedule(d, fn),
      },
      3,
    );
    const ids = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    for (const id of ids) this.nodes.set(id, new ProdNode(id, this, this.queue, ids));
  }

  /** A member joining later: an empty disk, no bootstrap log. */
  addNode(id: number): ProdNode {
    const n = new ProdNode(id, this, this.queue, undefined);
    this.nodes.set(id, n);
    n.start();
    return n;
  }

  // ---- ProdHost -----------------------------------------------------------------------------

  fail(v: SafetyViolation): void {
    this.violation ??= v;
  }

  restartSoon(node: ProdNode, delayMs: number): void {
    this.queue.schedule(delayMs, () => node.start());
  }

  /** Slows every message between `a` and `b` by 200–1,000 ms until `untilMs` (a congested link). */
  slowLink(a: number, b: number, untilMs: number): void {
    this.slowLinks.set(`${Math.min(a, b)}-${Math.max(a, b)}`, untilMs);
  }

  syncCrashRate(): number {
    return this.faults.crashes ? 0.003 : 0;
  }

  send(from: number, messages: readonly Message[]): void {
    for (const m of messages) this.sendOne(from, m);
  }

  /**
   * The network delivers, once more and long after they were sent, the append acknowledgements of
   * earlier terms that it still holds for the current leader (duplication with an unbounded delay,
   * which Raft must tolerate). A leader that counted them could commit what no follower holds: its
   * log may have been cut below an old ack's index since (a leader that replicated before its own
   * fsync, lost its tail in a power loss, and was elected again).
   */
  replayStaleAcks(): void {
    const l = this.leader();
    const term = l?.node?.term ?? 0;
    if (l === undefined) return;
    for (const m of this.pastAcks.get(l.id)?.values() ?? []) {
      if (m.term < term) l.proc.schedule(1, () => l.handler?.receive(m));
    }
  }

  /** A node became leader: a little later, while it appends its first entries, old acks arrive. */
  leaderElected(): void {
    if (this.faults.net && this.random.chance(0.5))
      this.queue.schedule(this.random.intBetween(5, 60), () => this.replayStaleAcks());
  }

  private sendOne(from: number, m: Message): void {
    const net = this.faults.net;
    if (m.type === "appResp" && !m.reject && m.index > 0) {
      const acks = this.pastAcks.get(m.to) ?? new Map<string, Message>();
      const key = `${m.from}:${m.term}`;
      const prev = acks.get(key);
      if (prev === undefined || (prev.type === "appResp" && prev.index < m.index)) acks.set(key, m);
      this.pastAcks.set(m.to, acks);
    }
    const sender = this.nodes.get(from);
    const dest = this.nodes.get(m.to);
    const lost =
      dest === undefined ||
      !this.connected(from, m.to) ||
      (net && this.random.chance(REPLIES.has(m.type) ? 0.1 : 0.1));
    if (lost) {
      if (m.type === "snap") sender?.proc.schedule(5, () => sender.handler?.reportSnapshot(m.to, false));
      else if (!this.connected(from, m.to))
        sender?.proc.schedule(5, () => sender.handler?.reportUnreachable(m.to));
      return;
    }
    const copies = net && this.random.chance(0.02) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay =
        net && this.random.chance(0.02)
          ? this.random.intBetween(200, 2200)
          : this.random.int(this.delayMaxMs + 1);
      const slowUntil = this.slowLinks.get(`${Math.min(from, m.to)}-${Math.max(from, m.to)}`) ?? 0;
      if (net && this.queue.now < slowUntil) delay += this.random.intBetween(200, 1000);
      // A message in the network reaches whichever incarnation of the destination is up when it
      // arrives (a restarted process may get requests sent to its predecessor); held while paused.
      this.queue.schedule(delay, () => {
        if (!this.connected(from, m.to)) return;
        dest.proc.schedule(0, () => {
          dest.handler?.receive(m);
          if (m.type === "snap" && m.done)
            sender?.proc.schedule(1, () => sender.handler?.reportSnapshot(m.to, true));
        });
      });
    }
  }

  // ---- partitions and membership ------------------------------------------------------------

  connected(a: number, b: number): boolean {
    return this.partitions.connected(a, b);
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

  members(): number[] {
    return [...this.nodes.values()].filter((n) => !n.retired).map((n) => n.id);
  }

  /** The live node that believes it leads, with the highest term. */
  leader(): ProdNode | undefined {
    let best: ProdNode | undefined;
    for (const n of this.nodes.values()) {
      if (!n.alive || n.node === undefined || !n.node.isLeader()) continue;
      if (best === undefined || n.node.term > best.node!.term) best = n;
    }
    return best;
  }

  // ---- running ------------------------------------------------------------------------------

  /** After every event: each live leader's view of its followers must be true (safety.ts). */
  private checkLeaderProgress(): void {
    for (const n of this.nodes.values()) {
      const node = n.node;
      if (!n.alive || node === undefined || !node.isLeader()) continue;
      const status = node.status();
      if (status === undefined || status.role !== "leader") continue;
      try {
        this.checker.leaderProgress(n.id, status.term, status.lastIndex, status.progress, this.disks);
      } catch (err) {
        if (err instanceof SafetyViolation) this.fail(err);
        else throw err;
      }
    }
  }

  async runFor(ms: number): Promise<void> {
    await this.runUntil(() => false, ms);
  }

  /** Runs events until `pred` holds (checked after each) or `maxMs` pass; returns whether it held. */
  async runUntil(pred: () => boolean, maxMs: number): Promise<boolean> {
    const until = this.queue.now + maxMs;
    for (;;) {
      if (this.violation !== undefined) throw this.violation;
      if (pred()) return true;
      const e = this.queue.popDue(until);
      if (e === undefined) break;
      e.run();
      // Let every promise continuation the event set off run before the next event.
      await new Promise<void>((r) => setImmediate(r));
      this.checkLeaderProgress();
    }
    if (this.queue.now < until) this.queue.now = until;
    if (this.violation !== undefined) throw this.violation;
    return pred();
  }

  async run(): Promise<SimResult> {
    const workloadMs = this.opts.workloadMs ?? 2500;
    try {
      for (const n of this.nodes.values()) await n.provision();
      for (const n of this.nodes.values()) n.start();
      this.clients.start(this.opts.clients ?? 4);
      prodNemesis(this, workloadMs);
      await this.runFor(workloadMs);
      // Heal: network, pauses and disks; every member that is down comes back.
      this.faults = { net: false, crashes: false, pauses: false, membership: false };
      this.heal();
      for (const n of this.nodes.values()) {
        n.proc.resume();
        n.start();
      }
      await this.runFor(1500);
      this.clients.stop();
      await this.liveness();
      await this.runFor(CLIENT_TIMEOUT_MS + 100);
      this.clients.closeOutstanding();
      if (this.clients.writesOk === 0 || this.clients.readsOk === 0) {
        throw new SafetyViolation(
          "workload",
          `only ${this.clients.writesOk} writes and ${this.clients.readsOk} reads succeeded; every seed needs both`,
        );
      }
      const lin = checkHistory(this.clients.history);
      if (!lin.ok) {
        throw new SafetyViolation(
          "linearizability",
          `history of key "${lin.key}" (${lin.ops} operations) has no linearization`,
        );
      }
      return this.result(true);
    } catch (err) {
      if (err instanceof SafetyViolation) return this.result(false, err.message);
      const e = err as Error;
      return this.result(false, `exception: ${e.stack ?? e.message}`);
    }
  }

  /**
   * After healing: a new write commits and every live member applies it within the bound; then
   * leadership moves and a read at the new leader (made before it committed anything) succeeds.
   */
  private async liveness(): Promise<void> {
    const deadline = this.queue.now + LIVENESS_BOUND_MS;
    let committed: number | undefined;
    let op = 0;
    while (committed === undefined) {
      const left = deadline - this.queue.now;
      if (left <= 0)
        throw new SafetyViolation("liveness", `no write committed ${LIVENESS_BOUND_MS}ms after healing`);
      const l = this.leader();
      if (l?.node === undefined) {
        await this.runFor(Math.min(20, left));
        continue;
      }
      let settled = false;
      l.node.propose(encodeCommand({ client: 0, op: ++op, kind: "put", key: "live", value: `${op}` })).then(
        (p) => {
          committed = p.index;
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      await this.runUntil(() => settled, left);
    }
    const index = committed;
    const members = () => {
      const cs = this.leader()?.node?.status()?.confState;
      const ids = cs === undefined ? [] : [...cs.voters, ...cs.learners];
      return ids.map((id) => this.nodes.get(id)).filter((n): n is ProdNode => n !== undefined && !n.retired);
    };
    const applied = await this.runUntil(
      () => members().every((n) => n.node !== undefined && n.node.applied >= index),
      deadline - this.queue.now,
    );
    if (!applied) {
      const lag = members()
        .map((n) => `${n.id}@${n.node?.applied ?? "down"}`)
        .join(" ");
      throw new SafetyViolation(
        "liveness",
        `write at index ${index} not applied everywhere within the bound: ${lag}`,
      );
    }
    await this.readAtNewLeader();
  }

  private async readAtNewLeader(): Promise<void> {
    const old = this.leader();
    if (old?.node === undefined) throw new SafetyViolation("liveness", "no leader after the write committed");
    const oldTerm = old.node.term;
    const voters = old.node.status()?.confState.voters.filter((v) => v !== old.id) ?? [];
    if (voters.length > 0) old.node.transferLeadership(this.random.pick(voters));
    // The new leader's first moment: its term's no-op is not committed yet, so the read is parked.
    await this.runUntil(() => (this.leader()?.node?.term ?? 0) > oldTerm, 1000);
    const l = this.leader();
    if (l?.node === undefined) throw new SafetyViolation("liveness", "no leader after a leadership transfer");
    let outcome: string | undefined;
    l.node.readIndex().then(
      () => {
        outcome = "ok";
      },
      (err: unknown) => {
        outcome = String(err);
      },
    );
    await this.runUntil(() => outcome !== undefined, 2000);
    if (outcome !== "ok") {
      throw new SafetyViolation(
        "liveness",
        `read at leader ${l.id} after healing failed: ${outcome ?? "no answer in 2s"}`,
      );
    }
  }

  private result(ok: boolean, violation?: string): SimResult {
    const r: SimResult = {
      ok,
      seed: this.opts.seed,
      ops: this.clients.history.length,
      writesOk: this.clients.writesOk,
      readsOk: this.clients.readsOk,
      maxCommitted: this.checker.maxCommitted,
    };
    if (violation !== undefined) r.violation = violation;
    return r;
  }
}

/** Cluster size of a production-driver seed: 3, 3, 5 in turn. */
export function prodNodesForSeed(seed: number): number {
  return seed % 3 === 2 ? 5 : 3;
}

export function prodReplayCommand(seed: number, nodes: number, mutation?: Mutation): string {
  return `npm run sim -w @shoal/raft -- --driver prod --seeds 1 --from ${seed} --nodes ${nodes}${mutation === undefined ? "" : ` --broken ${mutation}`}`;
}
