import { type Random, silentLogger } from "@shoal/base";
import type {
  ConfState,
  Entry,
  HardState,
  Message,
  RaftConfig,
  RawNodeApi,
  Ready,
  Snapshot,
  Storage,
} from "@shoal/raft";
import { RawNode } from "@shoal/raft";
import { type DurableStorage, RaftNode } from "@shoal/raft/node";
import type { Transport, TransportHandler } from "@shoal/raft/transport";
import { WalStorage } from "@shoal/raft/wal";
import { FaultDisk } from "./fault-fs.js";
import { decodeCommand, KvStateMachine } from "./kv.js";
import type { SafetyChecker } from "./safety.js";
import { SafetyViolation } from "./safety.js";
import { SimProcess } from "./sim-process.js";

/** What a production-driver node needs from the simulator around it. */
export interface ProdHost {
  readonly random: Random;
  readonly checker: SafetyChecker;
  /** Every node's durable view (the WalStorage of its latest incarnation). */
  readonly disks: Map<number, Storage>;
  send(from: number, messages: readonly Message[]): void;
  /** Records a violation found inside the nodes' async code (checked after every event). */
  fail(violation: SafetyViolation): void;
  /** Restarts `node` after `delayMs` (unless the run is past its faults). */
  restartSoon(node: ProdNode, delayMs: number): void;
  /** Probability that a process dies at an fsync's start or right after it completed. */
  syncCrashRate(): number;
  /** The share of crashes that are power losses (unsynced data lost) rather than process exits. */
  readonly powerLossShare: number;
  readonly coreConfig: Partial<RaftConfig>;
  readonly mutation: DriverMutation | undefined;
  readonly snapshotEntries: number;
  /** Told when this node's leadership of a new term became durable (the network may react). */
  leaderElected(): void;
}

/** Deliberate driver bugs the checkers must catch (see broken-variant.test.ts). */
export type DriverMutation = "voteBeforePersist" | "resolveIgnoringTerm";

const SEGMENT_BYTES = 16 * 1024;
export const PROD_TICK_MS = 10;
export const PROD_READ_TIMEOUT_MS = 600;

/**
 * One simulated server running the production code: a RaftNode over a WalStorage on a FaultDisk,
 * the KV state machine, on its own SimProcess. A crash abandons the RaftNode mid-flight (its
 * pending promises never settle, as in a killed process) and, for a power loss, drops the disk's
 * unsynced writes; a restart opens the WAL again and starts a fresh RaftNode.
 */
export class ProdNode {
  readonly proc: SimProcess;
  readonly disk: FaultDisk;
  node: RaftNode | undefined;
  sm = new KvStateMachine();
  handler: TransportHandler | undefined;
  retired = false;
  /** Milliseconds an fsync takes on this machine (drawn per call from its profile). */
  private readonly slowDisk: boolean;
  private reportedLeaderTerm = 0;

  constructor(
    readonly id: number,
    private readonly host: ProdHost,
    queue: ConstructorParameters<typeof SimProcess>[1],
    private readonly bootstrapVoters: number[] | undefined,
  ) {
    this.proc = new SimProcess(id, queue);
    this.disk = new FaultDisk(`n${id}`);
    this.slowDisk = host.random.chance(0.5);
  }

  get alive(): boolean {
    return this.proc.alive;
  }

  /**
   * Writes the bootstrap log to the disk before the cluster starts (instantly and durably), as
   * the installer of a new cluster would: no member may commit it before all hold it.
   */
  async provision(): Promise<void> {
    if (this.bootstrapVoters === undefined) return;
    const wal = await WalStorage.open({
      dir: `/n${this.id}`,
      segmentBytes: SEGMENT_BYTES,
      bootstrapVoters: this.bootstrapVoters,
      fileSystem: this.disk.mount({
        wait: async () => {},
        syncLatencyMs: () => 0,
        crashAt: () => false,
        dead: () => new Promise<never>(() => {}),
        alive: () => true,
      }),
    });
    this.host.disks.set(this.id, wal);
    await wal.close();
  }

  /** Starts a new incarnation: open the WAL (recovery), then run a RaftNode on it. */
  start(): void {
    if (this.proc.alive || this.retired) return;
    const proc = this.proc;
    proc.alive = true;
    proc.incarnation++;
    proc.resume();
    proc.drift = 0.9 + this.host.random.next() * 0.2;
    const incarnation = proc.incarnation;
    const live = () => proc.alive && proc.incarnation === incarnation;
    const random = this.host.random.split();
    const fileSystem = this.disk.mount({
      wait: (ms) => proc.wait(ms),
      syncLatencyMs: () => (this.slowDisk && random.chance(0.5) ? random.intBetween(2, 40) : random.int(3)),
      crashAt: () => {
        const rate = this.host.syncCrashRate();
        if (rate <= 0 || !random.chance(rate)) return false;
        this.crash();
        return true;
      },
      dead: () => new Promise<never>(() => {}),
      alive: live,
    });
    this.handler = undefined;
    void (async () => {
      let wal: WalStorage;
      try {
        wal = await WalStorage.open({
          dir: `/n${this.id}`,
          segmentBytes: SEGMENT_BYTES,
          fileSystem,
          ...(this.bootstrapVoters !== undefined ? { bootstrapVoters: this.bootstrapVoters } : {}),
        });
      } catch (err) {
        if (live())
          this.host.fail(new SafetyViolation("recovery", `node ${this.id} cannot restart: ${String(err)}`));
        return;
      }
      if (!live()) return;
      this.host.disks.set(this.id, wal);
      this.sm = new KvStateMachine();
      this.reportedLeaderTerm = 0;
      const transport: Transport = {
        attach: (h) => {
          if (live()) this.handler = h;
        },
        detach: () => {
          if (live()) this.handler = undefined;
        },
        send: (messages) => {
          if (!live()) return;
          this.host.send(this.id, messages);
          // Crash point "right after sending a promise of durability" (a vote, an append ack):
          // harmless when the driver persisted first, fatal to safety when it did not. Often a
          // quick restart follows, so that requests still in flight meet the new incarnation.
          const rate = this.host.syncCrashRate();
          if (rate <= 0) return;
          const vote = messages.some((m) => m.type === "voteResp" && !m.reject);
          const ack = messages.some((m) => m.type === "appResp" && !m.reject);
          if ((vote && random.chance(rate * 15)) || (ack && random.chance(rate / 2))) {
            this.crash();
            if (random.chance(0.7)) this.host.restartSoon(this, random.intBetween(1, 30));
          }
        },
      };
      const mutation = this.host.mutation;
      const node: RaftNode = new RaftNode({
        id: this.id,
        storage: new CheckedStorage(wal, this.id, this.host, () => this.afterSave(wal)),
        transport,
        apply: (e) => this.apply(e),
        snapshot: () => this.sm.snapshot(),
        restore: (data) => {
          this.sm = KvStateMachine.restore(data);
        },
        clock: proc.clock(),
        random,
        logger: silentLogger(),
        tickMs: PROD_TICK_MS,
        electionTicks: 10,
        heartbeatTicks: 1,
        snapshotEntries: this.host.snapshotEntries,
        snapshotCatchUpEntries: Math.floor(this.host.snapshotEntries / 4),
        readTimeoutMs: PROD_READ_TIMEOUT_MS,
        coreConfig: { maxUncommittedBytes: 1 << 20, snapshotChunkBytes: 512, ...this.host.coreConfig },
        ...(mutation === "resolveIgnoringTerm" ? { testingUnsafe: "resolveIgnoringTerm" as const } : {}),
        ...(mutation === "voteBeforePersist"
          ? { createCore: (config: RaftConfig) => votesBeforePersist(new RawNode(config), transport) }
          : {}),
      });
      this.node = node;
      node.run().catch((err: unknown) => {
        if (!live()) return;
        if (err instanceof SafetyViolation) this.host.fail(err);
        else this.host.fail(new SafetyViolation("node failure", `node ${this.id} failed: ${String(err)}`));
      });
    })();
  }

  /** The process dies; with a power loss (the usual case) unsynced disk writes go too. */
  crash(powerLoss = this.host.random.chance(this.host.powerLossShare)): void {
    if (!this.proc.alive) return;
    this.proc.alive = false;
    this.proc.incarnation++;
    this.node = undefined;
    this.handler = undefined;
    if (powerLoss) this.disk.crash(this.host.random);
  }

  private apply(e: Entry): void {
    const node = this.node;
    if (node !== undefined && e.index <= node.applied) {
      throw new SafetyViolation(
        "monotonic apply",
        `node ${this.id} applied index ${e.index} after ${node.applied}`,
      );
    }
    guard(this.host, () => this.host.checker.applied(this.id, e));
    if (e.type === "normal" && e.data.byteLength > 0) this.sm.apply(decodeCommand(e.data));
  }

  private afterSave(wal: WalStorage): void {
    const node = this.node;
    if (node === undefined) return;
    const status = node.status();
    if (status !== undefined) this.host.checker.noteVoters(status.confState.voters);
    if (node.isLeader() && node.term > this.reportedLeaderTerm) {
      this.reportedLeaderTerm = node.term;
      this.host.checker.leaderElected(this.id, node.term, wal);
      this.host.leaderElected();
    }
  }
}

function guard(host: ProdHost, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof SafetyViolation) host.fail(err);
    throw err;
  }
}

/** The production WalStorage, with the safety checks run on what each save made durable. */
class CheckedStorage implements DurableStorage {
  constructor(
    private readonly wal: WalStorage,
    private readonly id: number,
    private readonly host: ProdHost,
    private readonly afterSave: () => void,
  ) {}

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.wal.initialState();
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.wal.entries(lo, hi, maxBytes);
  }
  term(index: number): number {
    return this.wal.term(index);
  }
  firstIndex(): number {
    return this.wal.firstIndex();
  }
  lastIndex(): number {
    return this.wal.lastIndex();
  }
  snapshot(): Snapshot {
    return this.wal.snapshot();
  }

  async save(
    hardState: HardState | undefined,
    entries: Entry[],
    snapshot?: Snapshot,
    sync = true,
  ): Promise<void> {
    await this.wal.save(hardState, entries, snapshot, sync);
    guard(this.host, () => {
      const checker = this.host.checker;
      if (entries.length > 0) checker.entriesPersisted(this.id, entries, this.wal);
      // A commit-only change saved without sync is not on disk yet (WalStorage keeps it in memory).
      const written = sync || entries.length > 0 || snapshot !== undefined;
      if (hardState !== undefined && written) {
        checker.commitPersisted(this.id, hardState.commit, this.wal, [], this.host.disks);
      }
      this.afterSave();
    });
  }

  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.wal.createSnapshot(index, confState, data);
  }

  compact(index: number): Promise<void> {
    return this.wal.compact(index);
  }
}

/**
 * Mutation "voteBeforePersist": a driver that sends vote answers as soon as the core produces
 * them, before the Ready's hard state (the vote) is durable.
 */
function votesBeforePersist(core: RawNodeApi, transport: Transport): RawNodeApi {
  const originals = new WeakMap<Ready, Ready>();
  return new Proxy(core, {
    get(target, prop, receiver) {
      if (prop === "ready") {
        return () => {
          const rd = target.ready();
          const votes = rd.messages.filter((m) => m.type === "voteResp");
          if (votes.length === 0) return rd;
          transport.send(votes);
          const rest: Ready = { ...rd, messages: rd.messages.filter((m) => m.type !== "voteResp") };
          originals.set(rest, rd);
          return rest;
        };
      }
      if (prop === "advance") return (rd: Ready) => target.advance(originals.get(rd) ?? rd);
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
