import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, seededRandom } from "@shoal/base";
import { LocalNetwork } from "@shoal/raft/transport";
import { LocalForwarding } from "../src/forwarding.js";
import { ReplicatedStore, type ReplicatedStoreOptions } from "../src/replicated-store.js";

/** Members of a test cluster over LocalNetwork with real WalStorage in a temp dir. */
export class TestCluster {
  readonly root = mkdtempSync(join(tmpdir(), "shoal-store-"));
  readonly network = new LocalNetwork();
  readonly forwarding = new LocalForwarding();
  readonly members = new Map<
    number,
    { store: ReplicatedStore; running: Promise<void>; ac: AbortController }
  >();
  private incarnation = 0;

  constructor(private readonly raft: { snapshotEntries: number; snapshotCatchUpEntries: number }) {}

  async start(
    id: number,
    bootstrapVoters?: number[],
    extra: Pick<ReplicatedStoreOptions, "onCommitLatencyMs"> = {},
  ): Promise<ReplicatedStore> {
    const store = await ReplicatedStore.open({
      ...extra,
      id,
      dir: join(this.root, `m${id}`),
      ...(bootstrapVoters === undefined ? {} : { bootstrapVoters }),
      transport: this.network.transport(id),
      forwarding: this.forwarding,
      random: seededRandom(id * 1000 + ++this.incarnation),
      raft: { tickMs: 10, electionTicks: 10, ...this.raft },
      ...(process.env.STORE_TEST_DEBUG === String(id)
        ? { logger: createLogger({ name: `m${id}`, level: "debug" }) }
        : {}),
    });
    const ac = new AbortController();
    const running = store.run(ac.signal);
    this.members.set(id, { store, running, ac });
    return store;
  }

  store(id: number): ReplicatedStore {
    return this.members.get(id)!.store;
  }

  async stop(id: number): Promise<void> {
    const m = this.members.get(id)!;
    m.ac.abort();
    await m.running;
    await m.store.close();
    this.members.delete(id);
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stop(id);
  }

  async leader(timeoutMs = 10_000): Promise<ReplicatedStore> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      // A leader every member knows (so followers can forward to it).
      for (const m of this.members.values())
        if (m.store.isLeader() && [...this.members.values()].every((o) => o.store.leader === m.store.id))
          return m.store;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no leader among members ${[...this.members.keys()].join(", ")} within ${timeoutMs}ms`);
  }

  /** Waits until every member has applied as far as the leader and all hashes agree. */
  async converged(timeoutMs = 20_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    let hashes: string[] = [];
    let applied: number[] = [];
    while (Date.now() < until) {
      const stores = [...this.members.values()].map((m) => m.store);
      applied = stores.map((s) => s.raft.applied);
      hashes = stores.map((s) => s.stateHash());
      if (new Set(applied).size === 1 && new Set(hashes).size === 1) return hashes[0]!;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(
      `members did not converge: applied ${applied.join(" ")}, hashes ${hashes.map((h) => h.slice(0, 12)).join(" ")}, store applied ${[...this.members.values()].map((m) => m.store.applied).join(" ")}`,
    );
  }

  async destroy(): Promise<void> {
    await this.stopAll();
    rmSync(this.root, { recursive: true, force: true });
  }
}
