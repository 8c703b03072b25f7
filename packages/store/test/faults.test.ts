import { ShoalError, seededRandom } from "@shoal/base";
import { afterEach, describe, expect, it } from "vitest";
import { StoreErrorCode } from "../src/errors.js";
import { TestCluster } from "./cluster.js";
import { node } from "./objects.js";

// Real time, real WAL, LocalNetwork: writers on random members while members are isolated and
// restarted from their WAL. Not the deterministic simulator (see README): a seed picks the faults.

const COUNTERS = 5;
const RETRYABLE: ReadonlySet<string> = new Set([StoreErrorCode.NoLeader, StoreErrorCode.ProposalDropped]);
const UNKNOWN: ReadonlySet<string> = new Set([
  StoreErrorCode.OutcomeUnknown,
  StoreErrorCode.DeadlineExceeded,
  StoreErrorCode.Closed,
]);

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ReplicatedStore under isolation and restarts", () => {
  it.each([1, 2, 3])(
    "seed %i: equal hashes, no acknowledged write lost, watch sees each change once in order",
    async (seed) => {
      const random = seededRandom(seed);
      const c = new TestCluster({ snapshotEntries: 40, snapshotCatchUpEntries: 10 });
      cluster = c;
      for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
      await (await c.leader()).update((tx) => {
        for (let i = 0; i < COUNTERS; i++) tx.nodes.create(node(`c${i}`, { n: "0" }));
      });
      await c.converged();

      // Member 1 is isolated but never restarted: its watch must see every increment exactly once.
      const watched = new Map<string, number>();
      let resyncs = 0;
      const watchAc = new AbortController();
      const watching = (async () => {
        let events = c.store(1).watch({
          filter: { kinds: ["node"], commits: false },
          maxQueuedEvents: 1_000_000,
          signal: watchAc.signal,
        });
        for (;;) {
          try {
            for await (const e of events) {
              if (e.kind !== "change" || e.objectKind !== "node" || e.object === undefined) continue;
              const n = Number(e.object.spec!.labels.n);
              const prev = watched.get(e.id) ?? 0;
              if (n !== prev + 1) throw new Error(`watch on member 1 saw ${e.id} go from ${prev} to ${n}`);
              watched.set(e.id, n);
            }
            return;
          } catch (err) {
            // A snapshot from the leader replaced member 1's state: resync from a view, as a consumer must.
            if (!ShoalError.is(err, StoreErrorCode.WatchLagged)) throw err;
            resyncs++;
            const again = c
              .store(1)
              .viewAndWatch((tx) => tx.nodes.list().map((o) => [o.id, Number(o.spec!.labels.n)] as const), {
                filter: { kinds: ["node"], commits: false },
                maxQueuedEvents: 1_000_000,
                signal: watchAc.signal,
              });
            for (const [id, n] of again.result) watched.set(id, n);
            events = again.events as typeof events;
          }
        }
      })();

      const acked = new Map<string, number>();
      let unknown = 0;
      let done = false;
      const writer = async (w: number) => {
        const r = random.split();
        while (!done) {
          const running = [...c.members.keys()];
          const member = c.members.get(r.pick(running))?.store;
          if (member === undefined) continue;
          const id = `c${r.int(COUNTERS)}`;
          try {
            await member.update(
              (tx) => {
                const o = tx.nodes.get(id)!;
                tx.nodes.update({
                  ...o,
                  spec: { ...o.spec!, labels: { n: String(Number(o.spec!.labels.n) + 1) } },
                });
              },
              { timeoutMs: 2000 },
            );
            acked.set(id, (acked.get(id) ?? 0) + 1);
          } catch (err) {
            if (!(err instanceof ShoalError)) throw err;
            if (UNKNOWN.has(err.code)) unknown++;
            else if (!RETRYABLE.has(err.code) && err.code !== StoreErrorCode.VersionConflict)
              throw new Error(`writer ${w}: unexpected ${err.code}: ${err.message}`);
            await sleep(5);
          }
        }
      };
      const writers = Array.from({ length: 4 }, (_, w) => writer(w));
      for (let round = 0; round < 6; round++) {
        await sleep(150 + random.int(200));
        const victim = random.pick([1, 2, 3]);
        if (victim !== 1 && random.chance(0.5)) {
          await c.stop(victim);
          await sleep(random.int(200));
          await c.start(victim);
        } else {
          c.network.isolate(victim);
          await sleep(200 + random.int(400));
          c.network.isolate(victim, false);
        }
      }
      done = true;
      await Promise.all(writers);
      await c.leader();
      await c.converged(30_000);
      const counters = c
        .store(1)
        .view((tx) => tx.nodes.list().map((n) => [n.id, Number(n.spec!.labels.n)] as const));
      for (const [id, n] of counters) {
        expect(n, `counter ${id}`).toBeGreaterThanOrEqual(acked.get(id) ?? 0);
        expect(n, `counter ${id}`).toBeLessThanOrEqual((acked.get(id) ?? 0) + unknown);
        expect(watched.get(id) ?? 0, `watched ${id}`).toBe(n);
      }
      expect([...acked.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
      watchAc.abort();
      await watching;
      expect(resyncs).toBeLessThan(10);
    },
  );
});
