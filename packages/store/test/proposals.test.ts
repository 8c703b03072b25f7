import { ShoalError } from "@shoal/base";
import { afterEach, describe, expect, it } from "vitest";
import { StoreErrorCode } from "../src/errors.js";
import { TestCluster } from "./cluster.js";
import { node } from "./objects.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

async function failure(p: Promise<unknown>): Promise<ShoalError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ShoalError) return err;
    throw err;
  }
  throw new Error("expected the proposal to fail");
}

describe("proposal outcomes on a replicated store", () => {
  it("forwards a follower's proposal to the leader and resolves once applied on the follower", async () => {
    const c = new TestCluster({ snapshotEntries: 0, snapshotCatchUpEntries: 0 });
    cluster = c;
    for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
    const leader = await c.leader();
    const follower = c.store([1, 2, 3].find((id) => id !== leader.id)!);
    const { index } = await follower.update((tx) => tx.nodes.create(node("from-follower")));
    expect(follower.view((tx) => tx.nodes.get("from-follower"))?.meta?.version).toBe(index);
    // A linearizable view on another member sees it.
    const other = c.store([1, 2, 3].find((id) => id !== leader.id && id !== follower.id)!);
    expect(await other.view({ linearizable: true }, (tx) => tx.nodes.get("from-follower")?.id)).toBe(
      "from-follower",
    );
  });

  it("times each entry proposed on a member to its commit, the leader's and a follower's forwarded one", async () => {
    const c = new TestCluster({ snapshotEntries: 0, snapshotCatchUpEntries: 0 });
    cluster = c;
    const latencies = new Map<number, number[]>();
    for (const id of [1, 2, 3]) {
      latencies.set(id, []);
      await c.start(id, [1, 2, 3], { onCommitLatencyMs: (ms) => latencies.get(id)?.push(ms) });
    }
    const leader = await c.leader();
    const follower = c.store([1, 2, 3].find((id) => id !== leader.id)!);
    const before = [...latencies.values()].map((l) => l.length);
    await leader.update((tx) => tx.nodes.create(node("on-leader")));
    await follower.update((tx) => tx.nodes.create(node("on-follower")));
    const counts = [...latencies.entries()].map(([id, l]) => [id, l.length - (before[id - 1] ?? 0)]);
    expect(Object.fromEntries(counts)).toEqual(
      Object.fromEntries([1, 2, 3].map((id) => [id, id === leader.id || id === follower.id ? 1 : 0])),
    );
    for (const l of latencies.values()) for (const ms of l) expect(ms).toBeGreaterThanOrEqual(0);
  });

  it("fails with STORE_NO_LEADER (hint: the leader) on a follower without forwarding", async () => {
    const c = new TestCluster({ snapshotEntries: 0, snapshotCatchUpEntries: 0 });
    cluster = c;
    for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
    const leader = await c.leader();
    const followerId = [1, 2, 3].find((id) => id !== leader.id)!;
    c.forwarding.unserve(leader.id);
    const err = await failure(c.store(followerId).update((tx) => tx.nodes.create(node("x"))));
    expect(err.code).toBe(StoreErrorCode.NoLeader);
    expect(err.details.leader).toBe(leader.id);
  });

  it("a leader cut off from its quorum never reports success: the write fails (dropped, unknown or deadline)", async () => {
    const c = new TestCluster({ snapshotEntries: 0, snapshotCatchUpEntries: 0 });
    cluster = c;
    for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
    const leader = await c.leader();
    c.network.isolate(leader.id);
    const err = await failure(leader.update((tx) => tx.nodes.create(node("lost")), { timeoutMs: 3000 }));
    expect([
      StoreErrorCode.OutcomeUnknown,
      StoreErrorCode.DeadlineExceeded,
      StoreErrorCode.ProposalDropped,
    ]).toContain(err.code);
    c.network.isolate(leader.id, false);
    await c.converged();
    // Here the entry could not commit (no quorum) and the new leader's log replaced it.
    for (const id of [1, 2, 3]) expect(c.store(id).view((tx) => tx.nodes.get("lost"))).toBeUndefined();
  });

  it("a linearizable view without a quorum fails with STORE_NO_LEADER", async () => {
    const c = new TestCluster({ snapshotEntries: 0, snapshotCatchUpEntries: 0 });
    cluster = c;
    for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
    const leader = await c.leader();
    c.network.isolate(leader.id);
    const err = await failure(leader.view({ linearizable: true }, (tx) => tx.nodes.count()));
    expect(err.code).toBe(StoreErrorCode.NoLeader);
  });
});
