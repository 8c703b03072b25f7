import { type Random, seededRandom } from "@shoal/base";
import { MemoryStorage, type Message, type RaftConfig } from "../../src/index.js";
import { EventQueue } from "./event-queue.js";
import { checkHistory, type Operation } from "./linearizability.js";
import { nemesis } from "./nemesis.js";
import { Partitions } from "./partitions.js";
import { SafetyChecker, SafetyViolation } from "./safety.js";
import { SimNode } from "./sim-node.js";

export type FaultLevel = "none" | "net" | "crash" | "all";

export interface FaultConfig {
  delayMaxMs: number;
  requestLoss: number;
  replyLoss: number;
  /** Probability a message is held back 200–2200 ms (long reordering). */
  reorder: number;
  duplicate: number;
  /** Random partitions, leader isolation and leadership transfers. */
  partitions: boolean;
  crashes: boolean;
  diskErrorRate: number;
  /** Deliver in send order per link (like a TCP stream); long reordering still overrides it. */
  fifo?: boolean;
  /** Add learners, promote them, remove voters (one change at a time) during the run. */
  membership?: boolean;
}

export function faultPreset(level: FaultLevel): FaultConfig {
  const net = level === "net" || level === "all";
  const crash = level === "crash" || level === "all";
  return {
    delayMaxMs: 26,
    requestLoss: net ? 0.1 : 0,
    replyLoss: net ? 0.1 : 0,
    reorder: net ? 0.02 : 0,
    duplicate: net ? 0.02 : 0,
    partitions: net,
    crashes: crash,
    diskErrorRate: crash ? 0.003 : 0,
    membership: level === "all",
  };
}

export interface SimOptions {
  seed: number;
  nodes: number;
  faults: FaultLevel | FaultConfig;
  /** Virtual time with client load and faults; a quiet period follows. */
  workloadMs?: number;
  clients?: number;
  keys?: number;
  snapshotEvery?: number;
  raftConfig?: Partial<RaftConfig>;
}

export interface SimResult {
  ok: boolean;
  seed: number;
  violation?: string;
  ops: number;
  writesOk: number;
  readsOk: number;
  maxCommitted: number;
}

const REPLIES = new Set(["appResp", "voteResp", "preVoteResp", "heartbeatResp", "readIndexResp"]);
const TICK_MS = 10;
const CLIENT_TIMEOUT_MS = 800;

interface ClientState {
  id: number;
  op: number;
  target: number;
  outstanding: Operation | undefined;
}

/**
 * N Raft nodes in one process on a virtual clock. Every source of nondeterminism comes from one
 * seeded Random, so a seed replays the exact same run. Scenario tests drive it by hand (isolate,
 * crash, runFor); the randomized run adds a nemesis and a KV client workload.
 */
export class Simulator {
  readonly queue = new EventQueue();
  readonly random: Random;
  readonly nodes = new Map<number, SimNode>();
  readonly disks = new Map<number, MemoryStorage>();
  readonly checker = new SafetyChecker();
  readonly history: Operation[] = [];
  faults: FaultConfig;
  private readonly partitions = new Partitions();
  private logical = 0;
  private readonly clients: ClientState[] = [];
  private clientsRunning = false;
  writesOk = 0;
  readsOk = 0;
  /** Largest message seen on the wire, in payload bytes (snapshot chunks, appends). */
  maxMessageBytes = 0;
  /** Messages handed to the network, by type (before loss). */
  readonly sent = new Map<string, number>();
  appendRejections = 0;
  private readonly linkClock = new Map<number, number>();
  /** Nodes removed from the cluster: stopped for good (a removed id is never reused). */
  readonly retired = new Set<number>();
  joining: number | undefined;
  nextNodeId = 0;
  private readonly maxSizePerMsg: number;

  constructor(readonly opts: SimOptions) {
    this.random = seededRandom(opts.seed);
    this.maxSizePerMsg = this.random.pick([1, 1, 256, 4096]);
    this.faults = typeof opts.faults === "string" ? faultPreset(opts.faults) : opts.faults;
    const ids: number[] = [];
    for (let i = 1; i <= opts.nodes; i++) ids.push(i);
    for (const id of ids) this.addNode(id, MemoryStorage.bootstrap(ids));
    this.scheduleTick();
  }

  addNode(id: number, disk: MemoryStorage): SimNode {
    this.disks.set(id, disk);
    const sim = this;
    const node = new SimNode(id, disk, this.random.split(), {
      send: (m) => this.send(m),
      reply: (client, op, ok, value) => this.clientReply(client, op, ok, value),
      schedule: (d, run) => this.queue.schedule(d, run),
      disks: this.disks,
      checker: this.checker,
      get diskErrorRate() {
        return sim.faults.diskErrorRate;
      },
      diskDelayMaxMs: 2,
      snapshotEvery: this.opts.snapshotEvery ?? 40,
      maxSizePerMsg: this.maxSizePerMsg,
      // From the seed, not the random stream, so other choices of a seed stay as they were.
      maxInflightMsgs: this.opts.seed % 4 === 0 ? 1 : 64,
      raftConfig: this.opts.raftConfig ?? {},
      onCrash: () => {},
    });
    this.nodes.set(id, node);
    return node;
  }

  private scheduleTick(): void {
    this.queue.schedule(TICK_MS, () => {
      for (const n of this.nodes.values()) n.tick();
      this.scheduleTick();
    });
  }

  // ---- network ------------------------------------------------------------------------------

  private send(m: Message): void {
    const f = this.faults;
    this.sent.set(m.type, (this.sent.get(m.type) ?? 0) + 1);
    if (m.type === "appResp" && m.reject) this.appendRejections++;
    let bytes = 0;
    if (m.type === "snap") bytes = m.data.byteLength;
    else if (m.type === "app" || m.type === "prop") for (const e of m.entries) bytes += e.data.byteLength;
    if (bytes > this.maxMessageBytes) this.maxMessageBytes = bytes;
    const loss = REPLIES.has(m.type) ? f.replyLoss : f.requestLoss;
    if (loss > 0 && this.random.chance(loss)) return;
    const copies = f.duplicate > 0 && this.random.chance(f.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay =
        f.reorder > 0 && this.random.chance(f.reorder)
          ? this.random.intBetween(200, 2200)
          : this.random.int(f.delayMaxMs + 1);
      if (f.fifo) {
        const link = m.from * 65536 + m.to;
        const at = Math.max(this.queue.now + delay, this.linkClock.get(link) ?? 0);
        this.linkClock.set(link, at);
        delay = at - this.queue.now;
      }
      this.queue.schedule(delay, () => this.deliver(m));
    }
  }

  private deliver(m: Message): void {
    if (!this.connected(m.from, m.to)) return;
    this.nodes.get(m.to)?.receive(m);
  }

  connected(a: number, b: number): boolean {
    return this.partitions.connected(a, b);
  }

  /** Cuts `ids` off from everyone else. */
  isolate(...ids: number[]): void {
    for (const id of ids) this.partitions.move(id, 1);
  }

  partition(groups: number[][]): void {
    this.partitions.partition(groups);
  }

  heal(): void {
    this.partitions.heal();
  }

  crash(id: number): void {
    const n = this.nodes.get(id);
    if (n?.alive) n.crash();
  }

  restart(id: number): void {
    const n = this.nodes.get(id);
    if (n !== undefined && !n.alive && !this.retired.has(id)) n.restart();
  }

  // ---- observation --------------------------------------------------------------------------

  now(): number {
    return this.queue.now;
  }

  /** The leader with the highest term among live nodes, if any. */
  leader(): number | undefined {
    let best: { id: number; term: number } | undefined;
    for (const n of this.nodes.values()) {
      if (!n.alive) continue;
      const s = n.rn.status();
      if (s.role === "leader" && (best === undefined || s.term > best.term))
        best = { id: n.id, term: s.term };
    }
    return best?.id;
  }

  runFor(ms: number): void {
    this.queue.runUntil(this.queue.now + ms);
  }

  /** Runs until `pred` holds (checked after every event) or `maxMs` pass; returns whether it held. */
  runUntil(pred: () => boolean, maxMs: number): boolean {
    if (pred()) return true;
    let held = false;
    this.queue.runUntil(this.queue.now + maxMs, () => {
      held = pred();
      return held;
    });
    return held;
  }

  // ---- clients ------------------------------------------------------------------------------

  startClients(count: number): void {
    this.clientsRunning = true;
    for (let c = 1; c <= count; c++) {
      const client: ClientState = {
        id: c,
        op: 0,
        target: this.random.pick(this.members()),
        outstanding: undefined,
      };
      this.clients.push(client);
      this.queue.schedule(this.random.int(20), () => this.nextOp(client));
    }
  }

  stopClients(): void {
    this.clientsRunning = false;
  }

  private nextOp(c: ClientState): void {
    if (!this.clientsRunning || c.outstanding !== undefined) return;
    const keys = this.opts.keys ?? 3;
    const key = `k${this.random.int(keys)}`;
    const roll = this.random.next();
    const kind = roll < 0.45 ? "put" : roll < 0.6 ? "append" : "get";
    const opId = ++c.op;
    const value = kind === "get" ? "" : `${c.id}.${opId};`;
    const op: Operation = {
      client: c.id,
      kind,
      key,
      input: value,
      output: "",
      call: ++this.logical,
      ret: Number.POSITIVE_INFINITY,
    };
    c.outstanding = op;
    const target = c.target;
    this.queue.schedule(this.random.int(4), () => {
      const n = this.nodes.get(target);
      if (n === undefined || !n.alive) return;
      if (kind === "get") n.clientRead(c.id, opId, key);
      else n.clientWrite(c.id, opId, kind, key, value);
    });
    this.queue.schedule(CLIENT_TIMEOUT_MS, () => {
      if (c.outstanding !== op) return;
      // Unknown outcome: a write stays in the history with an open end; a read had no effect.
      if (kind !== "get") this.history.push(op);
      c.outstanding = undefined;
      c.target = this.random.pick(this.members());
      this.nextOp(c);
    });
  }

  private clientReply(client: number, opId: number, ok: boolean, value?: string): void {
    this.queue.schedule(this.random.int(4), () => {
      const c = this.clients[client - 1];
      if (c === undefined || c.outstanding === undefined || c.op !== opId) return;
      const op = c.outstanding;
      c.outstanding = undefined;
      if (ok) {
        op.ret = ++this.logical;
        if (op.kind === "get") {
          op.output = value ?? "";
          this.readsOk++;
        } else this.writesOk++;
        this.history.push(op);
      } else {
        // Rejected before entering any log: not part of the history. Try another node.
        c.target = this.random.pick(this.members());
      }
      this.queue.schedule(this.random.int(20), () => this.nextOp(c));
    });
  }

  // ---- membership churn ---------------------------------------------------------------------

  /** Ids of live cluster members clients may talk to. */
  members(): number[] {
    return [...this.nodes.keys()].filter((id) => !this.retired.has(id));
  }

  // ---- the randomized run -------------------------------------------------------------------

  /** The full randomized run: workload under faults, then quiet, then every check. */
  run(): SimResult {
    const workloadMs = this.opts.workloadMs ?? 3000;
    try {
      this.startClients(this.opts.clients ?? 3);
      nemesis(this, workloadMs);
      this.runFor(workloadMs);
      this.stopClients();
      // Quiet period: network and disks heal, everyone restarts, outstanding requests settle.
      this.faults = { ...faultPreset("none") };
      this.heal();
      for (const id of this.nodes.keys()) this.restart(id);
      this.runFor(CLIENT_TIMEOUT_MS + 2500);
      if (this.leader() === undefined) {
        throw new SafetyViolation("liveness", "no leader 2.5s after all faults healed");
      }
      for (const c of this.clients) {
        if (c.outstanding !== undefined && c.outstanding.kind !== "get") this.history.push(c.outstanding);
      }
      const lin = checkHistory(this.history);
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

  private result(ok: boolean, violation?: string): SimResult {
    const r: SimResult = {
      ok,
      seed: this.opts.seed,
      ops: this.history.length,
      writesOk: this.writesOk,
      readsOk: this.readsOk,
      maxCommitted: this.checker.maxCommitted,
    };
    if (violation !== undefined) r.violation = violation;
    return r;
  }
}

export function replayCommand(seed: number, nodes: number, faults: FaultLevel): string {
  return `npm run sim -w @shoal/raft -- --seeds 1 --from ${seed} --nodes ${nodes} --faults ${faults}`;
}

/** The default cluster size for a seed when none is given: 3, 5 and 7 in turn. */
export function nodesForSeed(seed: number): number {
  return [3, 5, 7][seed % 3] as number;
}
