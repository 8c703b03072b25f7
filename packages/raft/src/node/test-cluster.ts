import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "@shoal/base";
import { LocalNetwork } from "../transport/local-network.js";
import type { Entry } from "../types.js";
import { WalStorage } from "../wal/wal-storage.js";
import { RaftNode, type RaftNodeOptions } from "./raft-node.js";

/** A key-value state machine: entries are JSON `{k, v}`; snapshots are the JSON of the map. */
export class KvMachine {
  readonly data = new Map<string, string>();
  readonly appliedIndexes: number[] = [];
  restores = 0;

  apply = (e: Entry): void => {
    if (e.type !== "normal") return;
    const { k, v } = JSON.parse(new TextDecoder().decode(e.data)) as { k: string; v: string };
    this.data.set(k, v);
    this.appliedIndexes.push(e.index);
  };
  snapshot = (): Uint8Array => new TextEncoder().encode(JSON.stringify([...this.data]));
  restore = (bytes: Uint8Array): void => {
    this.data.clear();
    for (const [k, v] of JSON.parse(new TextDecoder().decode(bytes)) as [string, string][])
      this.data.set(k, v);
    this.restores++;
  };
}

export function kv(k: string, v: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ k, v }));
}

interface Member {
  node: RaftNode;
  machine: KvMachine;
  storage: WalStorage;
  running: Promise<void>;
}

/**
 * Three (or N) RaftNodes on WAL storage in a temp dir, talking over a LocalNetwork with real
 * timers and short ticks. Members can be crashed (stopped without a goodbye) and restarted from
 * their directories.
 */
export class TestCluster {
  readonly net = new LocalNetwork();
  readonly members = new Map<number, Member>();
  private root = "";
  private seed = 1;

  constructor(
    readonly ids: number[],
    private readonly extra: Partial<RaftNodeOptions> = {},
  ) {}

  async start(): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), "shoal-raftnode-"));
    for (const id of this.ids) await this.startMember(id);
  }

  /** Starts member `id`; `joining` ones start empty (no bootstrap log), to be added by a change. */
  async startMember(id: number, overrides: Partial<RaftNodeOptions> = {}, joining = false): Promise<Member> {
    const storage = await WalStorage.open({
      dir: join(this.root, `n${id}`),
      ...(joining ? {} : { bootstrapVoters: this.ids }),
    });
    const machine = new KvMachine();
    const node = new RaftNode({
      id,
      storage,
      transport: this.net.transport(id),
      apply: machine.apply,
      snapshot: machine.snapshot,
      restore: machine.restore,
      random: seededRandom(this.seed++),
      tickMs: 10,
      electionTicks: 10,
      heartbeatTicks: 1,
      ...this.extra,
      ...overrides,
    });
    const running = node.run();
    running.catch(() => {});
    const m = { node, machine, storage, running };
    this.members.set(id, m);
    return m;
  }

  /** Stops a member and closes its storage (what survives is exactly what was fsynced). */
  async crash(id: number): Promise<void> {
    const m = this.members.get(id)!;
    await m.node.stop();
    await m.storage.close();
    this.members.delete(id);
  }

  async stop(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.crash(id);
    await rm(this.root, { recursive: true, force: true });
  }

  node(id: number): RaftNode {
    return this.members.get(id)!.node;
  }

  machine(id: number): KvMachine {
    return this.members.get(id)!.machine;
  }

  async waitForLeader(timeoutMs = 5000, among: number[] = [...this.members.keys()]): Promise<RaftNode> {
    return waitFor(
      () => {
        const leaders = among.map((id) => this.members.get(id)?.node).filter((n) => n?.isLeader());
        return leaders.length === 1 ? leaders[0] : undefined;
      },
      timeoutMs,
      "a single leader",
    );
  }

  async waitForApplied(
    index: number,
    ids: number[] = [...this.members.keys()],
    timeoutMs = 5000,
  ): Promise<void> {
    await waitFor(
      () => ids.every((id) => this.node(id).applied >= index) || undefined,
      timeoutMs,
      `applied ≥ ${index} on ${ids.join(",")}`,
    );
  }
}

export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
