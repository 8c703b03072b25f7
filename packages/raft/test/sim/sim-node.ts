import { type Random, silentLogger } from "@shoal/base";
import {
  type ConfChange,
  type Entry,
  type MemoryStorage,
  type Message,
  type ProposeResult,
  type RaftConfig,
  RawNode,
  type Ready,
} from "../../src/index.js";
import { decodeCommand, encodeCommand, KvStateMachine } from "./kv.js";
import type { SafetyChecker } from "./safety.js";
import { SafetyViolation } from "./safety.js";

export interface NodeHooks {
  send(m: Message): void;
  /** A client request finished at this node. */
  reply(client: number, op: number, ok: boolean, value?: string): void;
  schedule(delayMs: number, run: () => void): void;
  disks: Map<number, MemoryStorage>;
  checker: SafetyChecker;
  /** Fault knobs (probabilities) consulted at every disk write. */
  diskErrorRate: number;
  diskDelayMaxMs: number;
  /** Entries applied beyond the last snapshot before the node snapshots and compacts. */
  snapshotEvery: number;
  /** 1 sends one entry per append (more interleavings), larger values batch. */
  maxSizePerMsg: number;
  /** 1 makes the leader wait for each ack (the interleavings Figure 8 needs); 64 pipelines. */
  maxInflightMsgs: number;
  raftConfig: Partial<RaftConfig>;
  onCrash(id: number): void;
}

interface PendingRead {
  client: number;
  op: number;
  key: string;
  index: number | undefined;
}

/**
 * One simulated server: a RawNode, its "disk" (a MemoryStorage that only ever holds what a
 * completed write put there), the KV state machine, and the client requests waiting on it.
 * A crash throws away everything except the disk.
 */
export class SimNode {
  rn: RawNode;
  sm: KvStateMachine;
  alive = true;
  incarnation = 0;
  private writing = false;
  private readCounter = 0;
  private appliedIndex: number;
  private readonly pendingWrites = new Map<string, { client: number; op: number }>();
  private readonly pendingReads = new Map<string, PendingRead>();

  constructor(
    readonly id: number,
    readonly disk: MemoryStorage,
    private readonly random: Random,
    private readonly hooks: NodeHooks,
  ) {
    const { rn, sm, applied } = this.boot();
    this.rn = rn;
    this.sm = sm;
    this.appliedIndex = applied;
  }

  private boot(): { rn: RawNode; sm: KvStateMachine; applied: number } {
    const snap = this.disk.snapshot();
    const sm = KvStateMachine.restore(snap.data);
    const rn = new RawNode({
      id: this.id,
      storage: this.disk,
      electionTicks: 10,
      heartbeatTicks: 1,
      random: this.random.split(),
      logger: silentLogger(),
      applied: snap.meta.index,
      maxSizePerMsg: this.hooks.maxSizePerMsg,
      maxInflightMsgs: this.hooks.maxInflightMsgs,
      maxUncommittedBytes: 1 << 20,
      snapshotChunkBytes: 512,
      ...this.hooks.raftConfig,
    });
    return { rn, sm, applied: snap.meta.index };
  }

  crash(): void {
    this.alive = false;
    this.writing = false;
    this.incarnation++;
    this.pendingWrites.clear();
    this.pendingReads.clear();
    this.hooks.onCrash(this.id);
  }

  restart(): void {
    const { rn, sm, applied } = this.boot();
    this.rn = rn;
    this.sm = sm;
    this.appliedIndex = applied;
    this.alive = true;
    this.kick();
  }

  tick(): void {
    if (!this.alive) return;
    this.rn.tick();
    this.kick();
  }

  receive(m: Message): void {
    if (!this.alive) return;
    this.rn.step(m);
    this.kick();
  }

  /** Proposes raw data (scenario tests); the result says where it went. */
  propose(data: Uint8Array): ProposeResult {
    const res = this.rn.propose(data);
    this.kick();
    return res;
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    const res = this.rn.proposeConfChange(cc);
    this.kick();
    return res;
  }

  /** Runs an action on the RawNode (transfer, campaign, ...) and handles what it produced. */
  act(fn: (rn: RawNode) => void): void {
    if (!this.alive) return;
    fn(this.rn);
    this.kick();
  }

  /** A client write: ok=false immediately when it definitely did not enter any log. */
  clientWrite(client: number, op: number, kind: "put" | "append", key: string, value: string): void {
    if (!this.alive) return;
    const res = this.rn.propose(encodeCommand({ client, op, kind, key, value }));
    if (!res.ok) {
      this.hooks.reply(client, op, false);
      return;
    }
    this.pendingWrites.set(`${client}:${op}`, { client, op });
    this.kick();
  }

  clientRead(client: number, op: number, key: string): void {
    if (!this.alive) return;
    const ctx = `${this.id}.${this.incarnation}.${++this.readCounter}`;
    this.pendingReads.set(ctx, { client, op, key, index: undefined });
    this.rn.readIndex(new TextEncoder().encode(ctx));
    this.kick();
  }

  /** Starts handling the next Ready unless a disk write is in flight. */
  kick(): void {
    if (!this.alive || this.writing || !this.rn.hasReady()) return;
    const rd = this.rn.ready();
    this.writing = true;
    const incarnation = this.incarnation;
    this.hooks.schedule(this.random.int(this.hooks.diskDelayMaxMs + 1), () => {
      if (this.incarnation !== incarnation || !this.alive) return;
      this.writing = false;
      this.handleReady(rd);
      this.kick();
    });
  }

  private handleReady(rd: Ready): void {
    const checker = this.hooks.checker;
    if (this.hooks.diskErrorRate > 0 && this.random.chance(this.hooks.diskErrorRate)) {
      // A failed write: the snapshot file may have landed, and a torn prefix of the entries.
      if (rd.snapshot !== undefined && this.random.chance(0.5)) this.disk.applySnapshot(rd.snapshot);
      const keep = rd.entries.slice(0, this.random.int(rd.entries.length + 1));
      if (keep.length > 0 && (keep[0] as Entry).index <= this.disk.lastIndex() + 1) {
        if ((keep[keep.length - 1] as Entry).index >= this.disk.firstIndex()) this.disk.append(keep);
        checker.entriesPersisted(this.id, keep, this.disk);
      }
      this.crash();
      return;
    }
    // 1. Persist: snapshot, entries, hard state — all durable before anything is sent.
    if (rd.snapshot !== undefined) this.disk.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) {
      this.disk.append(rd.entries);
      checker.entriesPersisted(this.id, rd.entries, this.disk);
    }
    if (rd.hardState !== undefined) {
      this.disk.setHardState(rd.hardState);
      checker.commitPersisted(this.id, rd.hardState.commit, this.disk, this.voterSets(), this.hooks.disks);
    }
    if (rd.softState?.role === "leader") {
      checker.leaderElected(this.id, this.disk.initialState().hardState.term, this.disk);
    }
    // 2. Send.
    for (const m of rd.messages) this.hooks.send(m);
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      if (rd.snapshot.meta.index < this.appliedIndex) {
        throw new SafetyViolation(
          "monotonic apply",
          `node ${this.id} restored snapshot ${rd.snapshot.meta.index} below applied ${this.appliedIndex}`,
        );
      }
      this.sm = KvStateMachine.restore(rd.snapshot.data);
      this.appliedIndex = rd.snapshot.meta.index;
    }
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const rs of rd.readStates) {
      const pr = this.pendingReads.get(new TextDecoder().decode(rs.context));
      if (pr !== undefined) pr.index = rs.index;
    }
    this.rn.advance(rd);
    if (rd.committedEntries.some((e) => e.type === "confChange"))
      checker.noteVoters(this.rn.confState().voters);
    this.serveReads();
    this.maybeSnapshot();
  }

  private applyEntry(e: Entry): void {
    if (e.index !== this.appliedIndex + 1) {
      throw new SafetyViolation(
        "monotonic apply",
        `node ${this.id} applied index ${e.index} after ${this.appliedIndex}`,
      );
    }
    this.appliedIndex = e.index;
    this.hooks.checker.applied(this.id, e);
    if (e.type !== "normal" || e.data.byteLength === 0) return;
    const cmd = decodeCommand(e.data);
    const fresh = this.sm.apply(cmd);
    const key = `${cmd.client}:${cmd.op}`;
    if (fresh && this.pendingWrites.has(key)) {
      this.pendingWrites.delete(key);
      this.hooks.reply(cmd.client, cmd.op, true);
    }
  }

  private serveReads(): void {
    for (const [ctx, pr] of this.pendingReads) {
      if (pr.index === undefined || pr.index > this.appliedIndex) continue;
      this.pendingReads.delete(ctx);
      this.hooks.reply(pr.client, pr.op, true, this.sm.get(pr.key));
    }
  }

  private maybeSnapshot(): void {
    const snapIndex = this.disk.snapshot().meta.index;
    if (this.appliedIndex - snapIndex < this.hooks.snapshotEvery) return;
    this.disk.createSnapshot(this.appliedIndex, this.rn.confState(), this.sm.snapshot());
    // Keep a short tail so slightly-behind followers still catch up from the log.
    const compactTo = this.appliedIndex - Math.floor(this.hooks.snapshotEvery / 4);
    if (compactTo > this.disk.firstIndex()) this.disk.compact(compactTo);
  }

  /** Voter sets recently seen anywhere in the cluster (entries commit under one of them). */
  private voterSets(): number[][] {
    this.hooks.checker.noteVoters(this.rn.confState().voters);
    return this.hooks.checker.recentVoterSets;
  }

  appliedUpTo(): number {
    return this.appliedIndex;
  }

  log(): Entry[] {
    return this.disk.entries(this.disk.firstIndex(), this.disk.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
  }
}
