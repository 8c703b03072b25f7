import { ShoalError } from "@shoal/base";
import { afterEach, describe, expect, it } from "vitest";
import { NodeErrorCode } from "./errors.js";
import { kv, TestCluster, waitFor } from "./test-cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function startCluster(extra = {}): Promise<TestCluster> {
  cluster = new TestCluster([1, 2, 3], extra);
  await cluster.start();
  return cluster;
}

describe("RaftNode on WAL storage, three members, in-process transport", () => {
  it("elects a leader and applies concurrent proposals in the same order everywhere", async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => leader.propose(kv(`k${i}`, `v${i}`))),
    );
    const indexes = results.map((r) => r.index);
    expect(new Set(indexes).size).toBe(50);
    await c.waitForApplied(Math.max(...indexes));
    const orders = [1, 2, 3].map((id) => c.machine(id).appliedIndexes.join(","));
    expect(orders[1]).toBe(orders[0]);
    expect(orders[2]).toBe(orders[0]);
    for (const id of [1, 2, 3]) expect(c.machine(id).data.get("k49")).toBe("v49");
  });

  it("rejects proposals on a follower with the leader as a hint", async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const follower = [1, 2, 3].map((id) => c.node(id)).find((n) => n !== leader)!;
    await waitFor(() => follower.leader === leader.id || undefined, 2000, "follower to learn the leader");
    const err = await follower.propose(kv("a", "b")).catch((e: unknown) => e);
    expect(ShoalError.is(err, NodeErrorCode.NotLeader)).toBe(true);
    expect((err as ShoalError).details.leader).toBe(leader.id);
  });

  it("serves linearizable reads on the leader and on followers", async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const { index } = await leader.propose(kv("x", "1"));
    for (const id of [1, 2, 3]) {
      const readAt = await c.node(id).readIndex();
      expect(readAt).toBeGreaterThanOrEqual(index);
      expect(c.machine(id).data.get("x")).toBe("1");
    }
  });

  it("fails over when the leader crashes and the old leader catches up from its WAL on restart", async () => {
    const c = await startCluster();
    const first = await c.waitForLeader();
    for (let i = 0; i < 20; i++) await first.propose(kv(`a${i}`, "1"));
    await c.crash(first.id);
    const survivors = [1, 2, 3].filter((id) => id !== first.id);
    const second = await c.waitForLeader(5000, survivors);
    expect(second.id).not.toBe(first.id);
    const last = await second.propose(kv("after", "failover"));
    // Everything acknowledged by the old leader survived the change of leader.
    for (let i = 0; i < 20; i++) expect(c.machine(second.id).data.get(`a${i}`)).toBe("1");

    const back = await c.startMember(first.id);
    await c.waitForApplied(last.index, [first.id]);
    expect(back.machine.data.get("after")).toBe("failover");
    expect(back.machine.data.get("a19")).toBe("1");
  });

  it("survives a full-cluster restart with every acknowledged write", async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    const acked = await Promise.all(
      Array.from({ length: 30 }, (_, i) => leader.propose(kv(`p${i}`, `${i}`))),
    );
    for (const id of [1, 2, 3]) await c.crash(id);
    for (const id of [1, 2, 3]) await c.startMember(id);
    const again = await c.waitForLeader();
    const { index } = await again.propose(kv("z", "z"));
    expect(index).toBeGreaterThan(Math.max(...acked.map((r) => r.index)));
    await c.waitForApplied(index);
    for (const id of [1, 2, 3])
      for (let i = 0; i < 30; i++) expect(c.machine(id).data.get(`p${i}`)).toBe(`${i}`);
  });

  it("snapshots and compacts, restores on restart, and brings a lagging member back with a snapshot", async () => {
    const c = await startCluster({ snapshotEntries: 20, snapshotCatchUpEntries: 5 });
    const leader = await c.waitForLeader();
    const lagging = [1, 2, 3].find((id) => id !== leader.id)!;
    await c.crash(lagging);
    let last = 0;
    for (let i = 0; i < 60; i++) last = (await leader.propose(kv(`s${i}`, `${i}`))).index;
    const storage = c.members.get(leader.id)!.storage;
    expect(storage.snapshot().meta.index).toBeGreaterThanOrEqual(40);
    expect(storage.firstIndex()).toBeGreaterThan(30);

    const back = await c.startMember(lagging);
    await c.waitForApplied(last, [lagging], 8000);
    expect(back.machine.restores).toBeGreaterThanOrEqual(1);
    expect(back.machine.data.get("s0")).toBe("0");
    expect(back.machine.data.get("s59")).toBe("59");

    // The leader restarts from its own snapshot plus the log after it.
    const id = leader.id;
    await c.crash(id);
    const again = await c.startMember(id);
    expect(again.machine.restores).toBe(1);
    await c.waitForApplied(last, [id]);
    expect(again.machine.data.get("s59")).toBe("59");
  });

  it("snapshots by bytes too, and keeps only the newest catch-up entries within their byte limit", async () => {
    // Entries far from the 10,000-entry trigger, but 60 of ~1 KiB each are over 16 KiB.
    const c = await startCluster({
      snapshotEntries: 10_000,
      snapshotCatchUpEntries: 1_000,
      snapshotBytes: 16 * 1024,
      snapshotCatchUpBytes: 4 * 1024,
    });
    const leader = await c.waitForLeader();
    let last = 0;
    for (let i = 0; i < 60; i++) last = (await leader.propose(kv(`b${i}`, "x".repeat(1024)))).index;
    await c.waitForApplied(last);
    const storage = c.members.get(leader.id)!.storage;
    const snapshotAt = storage.snapshot().meta.index;
    expect(snapshotAt).toBeGreaterThanOrEqual(16);
    // 1,000 catch-up entries by count would keep the whole log; 4 KiB keeps about four.
    expect(snapshotAt - storage.firstIndex()).toBeLessThanOrEqual(5);
    // Still whole: a member restarted from its snapshot and the log after it has every write.
    await c.crash(leader.id);
    const again = await c.startMember(leader.id);
    await c.waitForApplied(last, [leader.id]);
    expect(again.machine.data.get("b0")).toBe("x".repeat(1024));
    expect(again.machine.data.get("b59")).toBe("x".repeat(1024));
  });

  it("never reports success for a proposal of a leader cut off from the quorum", async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    await leader.propose(kv("before", "1"));
    c.net.isolate(leader.id);
    const stranded = Array.from({ length: 5 }, (_, i) =>
      leader.propose(kv(`lost${i}`, "x")).then(
        () => "applied",
        (e: unknown) => e,
      ),
    );
    const others = [1, 2, 3].filter((id) => id !== leader.id);
    const next = await c.waitForLeader(5000, others);
    const { index } = await next.propose(kv("new", "leader"));
    c.net.isolate(leader.id, false);
    const outcomes = await Promise.all(stranded);
    for (const o of outcomes) {
      expect(o).not.toBe("applied");
      expect(
        ShoalError.is(o) &&
          [NodeErrorCode.LeadershipLost, NodeErrorCode.EntryReplaced].includes(o.code as never),
      ).toBe(true);
    }
    await c.waitForApplied(index);
    for (const id of [1, 2, 3]) expect(c.machine(id).data.has("lost0")).toBe(false);
  });

  it("times out a read on a member cut off from the leader", async () => {
    const c = await startCluster({ readTimeoutMs: 150 });
    const leader = await c.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader.id)!;
    c.net.isolate(follower);
    const err = await c
      .node(follower)
      .readIndex()
      .catch((e: unknown) => e);
    expect(ShoalError.is(err, NodeErrorCode.ReadTimeout)).toBe(true);
  });

  it("stops and rejects run() when the state machine fails to apply", async () => {
    const c = await startCluster();
    const leader = await c.waitForLeader();
    // Restart the leader with a state machine that cannot apply (replaying its log fails at once).
    await c.crash(leader.id);
    const failing = await c.startMember(leader.id, {
      apply: () => Promise.reject(new Error("state machine broken")),
    });
    const outcome = await failing.running.then(
      () => "resolved",
      (e: unknown) => (e as Error).message,
    );
    expect(outcome).toBe("state machine broken");
  });
});
