import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ShoalError, seededRandom } from "@shoal/base";
import { afterEach, describe, expect, it } from "vitest";
import { StoreErrorCode } from "../src/errors.js";
import { TestCluster } from "./cluster.js";
import { node, service } from "./objects.js";

const COUNTERS = 20;
const TRANSACTIONS = 10_000;
const WRITERS = 24;

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

async function until(ok: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const RETRYABLE: ReadonlySet<string> = new Set([StoreErrorCode.NoLeader, StoreErrorCode.ProposalDropped]);

describe("ReplicatedStore on 3 members (LocalNetwork, WalStorage)", () => {
  it("agrees after 10,000 conflicting transactions, restarts from WAL + snapshot, and a 4th member catches up by snapshot", async () => {
    const c = new TestCluster({ snapshotEntries: 300, snapshotCatchUpEntries: 50 });
    cluster = c;
    for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
    const leader = await c.leader();
    await leader.update((tx) => {
      for (let i = 0; i < COUNTERS; i++) tx.nodes.create(node(`c${i}`, { n: "0" }));
    });
    await c.converged();

    // A watcher on a follower sees every committed change exactly once, in order. A follower that
    // falls behind a compaction installs the leader's snapshot, which closes its watches with
    // STORE_WATCH_LAGGED: the watcher then resyncs from a view, as a consumer must.
    const followerId = [1, 2, 3].find((id) => id !== leader.id)!;
    const watched = new Map<string, string>();
    let lastIndex = 0;
    const watchAc = new AbortController();
    const watchOptions = {
      filter: { kinds: ["node" as const] },
      maxQueuedEvents: 1_000_000,
      signal: watchAc.signal,
    };
    const watching = (async () => {
      let events = c.store(followerId).watch(watchOptions);
      for (;;) {
        try {
          for await (const e of events) {
            if (e.index < lastIndex) throw new Error(`event at ${e.index} after ${lastIndex}`);
            lastIndex = e.index;
            if (e.kind === "change" && e.objectKind === "node" && e.object !== undefined)
              watched.set(e.id, e.object.spec!.labels.n!);
          }
          return;
        } catch (err) {
          if (!ShoalError.is(err, StoreErrorCode.WatchLagged)) throw err;
          const again = c
            .store(followerId)
            .viewAndWatch(
              (tx) => tx.nodes.list().map((o) => [o.id, o.spec!.labels.n!] as const),
              watchOptions,
            );
          for (const [id, n] of again.result) watched.set(id, n);
          lastIndex = 0;
          events = again.events as typeof events;
        }
      }
    })();

    const random = seededRandom(42);
    const acked = new Map<string, number>();
    let conflicts = 0;
    let nameConflicts = 0;
    let unknown = 0;
    let started = 0;
    const writer = async (w: number) => {
      const r = random.split();
      while (started < TRANSACTIONS) {
        started++;
        const member = c.store(r.pick([1, 2, 3]));
        const id = `c${r.int(COUNTERS)}`;
        const createName = r.chance(0.05) ? `svc-${r.int(50)}` : undefined;
        for (;;) {
          try {
            await member.update((tx) => {
              const o = tx.nodes.get(id)!;
              const n = Number(o.spec!.labels.n) + 1;
              tx.nodes.update({ ...o, spec: { ...o.spec!, labels: { n: String(n) } } });
              if (createName !== undefined) tx.services.create(service(`s-${w}-${started}`, createName));
            });
            acked.set(id, (acked.get(id) ?? 0) + 1);
          } catch (err) {
            if (!(err instanceof ShoalError)) throw err;
            if (RETRYABLE.has(err.code)) {
              await new Promise((res) => setTimeout(res, 5));
              continue;
            }
            if (err.code === StoreErrorCode.VersionConflict) conflicts++;
            else if (err.code === StoreErrorCode.NameConflict) nameConflicts++;
            else if (
              err.code === StoreErrorCode.OutcomeUnknown ||
              err.code === StoreErrorCode.DeadlineExceeded
            )
              unknown++;
            else throw err;
          }
          break;
        }
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    const hash = await c.converged();
    expect(conflicts).toBeGreaterThan(0);
    expect(nameConflicts).toBeGreaterThan(0);

    // Every acknowledged increment is there (each read a version no other write had changed).
    const counters = c
      .store(1)
      .view((tx) => tx.nodes.list().map((n) => [n.id, Number(n.spec!.labels.n)] as const));
    // The watcher reads its events asynchronously: converged() says the stores agree, not that
    // the watcher has drained its queue yet.
    await until(
      () => counters.every(([id, n]) => watched.get(id) === String(n)),
      "the follower's watcher to see the last committed change",
    );
    let total = 0;
    for (const [id, n] of counters) {
      expect(n).toBeGreaterThanOrEqual(acked.get(id) ?? 0);
      expect(n).toBeLessThanOrEqual((acked.get(id) ?? 0) + unknown);
      total += n;
      expect(watched.get(id)).toBe(String(n));
    }
    expect(total).toBeGreaterThan(TRANSACTIONS / 4);
    const servicesNamed = c.store(1).view((tx) => tx.services.list().map((s) => s.spec!.name));
    expect(new Set(servicesNamed).size).toBe(servicesNamed.length);
    watchAc.abort();
    await watching;
    expect(c.store(1).raft.status()?.confState).toBeDefined();

    // Restart every member from its WAL and snapshot.
    const appliedBefore = c.store(1).raft.applied;
    await c.stopAll();
    for (const id of [1, 2, 3]) await c.start(id);
    // Each member restores its snapshot, then re-applies its committed log tail.
    for (const id of [1, 2, 3]) {
      const s = c.store(id);
      await until(() => s.raft.applied >= appliedBefore, `member ${id} to re-apply up to ${appliedBefore}`);
      expect(s.stateHash()).toBe(hash);
    }
    const leader2 = await c.leader();
    await leader2.update((tx) => tx.nodes.create(node("after-restart")));
    const hash2 = await c.converged();

    // A fourth member joins and catches up by snapshot (the log before it was compacted).
    const joining = await c.start(4);
    await leader2.raft.proposeConfChange({ type: "addVoter", nodeId: 4 });
    await c.converged();
    expect(joining.raft.applied).toBeGreaterThan(0);
    expect(joining.view((tx) => tx.nodes.get("after-restart"))).toBeDefined();
    expect(joining.stateHash()).toBe(hash2);
    // It got there by the leader's snapshot: the log it would otherwise replay was compacted.
    expect(readdirSync(join(c.root, "m4", "snap")).filter((f) => f.endsWith(".snap")).length).toBeGreaterThan(
      0,
    );
  });
});
