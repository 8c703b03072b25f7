import { afterEach, expect, it } from "vitest";
import { kv, TestCluster, waitFor } from "./test-cluster.js";

// A member that joins empty can only install a snapshot whose configuration includes it. When the
// leader's newest snapshot predates the member and the log is compacted below what the member
// needs, the leader's RaftNode takes a fresh snapshot (snapshotLacksCatchingUpMember) — nobody has
// to ask for one when a member is added.

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

it("a member added after the leader's newest snapshot catches up by a fresh one that includes it", {
  timeout: 60_000,
}, async () => {
  const c = new TestCluster([1, 2, 3], { snapshotEntries: 50, snapshotCatchUpEntries: 10 });
  cluster = c;
  await c.start();
  const leader = await c.waitForLeader();
  for (let i = 0; i < 120; i++) await leader.propose(kv(`k${i}`, `v${i}`));
  const leaderStorage = c.members.get(leader.id)!.storage;
  const before = leaderStorage.snapshot().meta;
  expect(before.index).toBeGreaterThan(0);
  expect(before.confState.voters).not.toContain(4);
  expect(leaderStorage.firstIndex()).toBeGreaterThan(1); // compacted: the log cannot catch 4 up

  await c.startMember(4, {}, true);
  await leader.proposeConfChange({ type: "addLearner", nodeId: 4 });
  await waitFor(() => c.node(4).applied >= leader.applied || undefined, 30_000, "member 4 caught up");

  const joined = c.members.get(4)!;
  expect(joined.machine.restores).toBeGreaterThan(0);
  expect(joined.storage.snapshot().meta.confState.learners).toContain(4);
  expect(joined.machine.data.get("k119")).toBe("v119");
  // The leader snapshotted again for it: its newest snapshot now names the member.
  const after = leaderStorage.snapshot().meta;
  expect(after.index).toBeGreaterThan(before.index);
  expect([...after.confState.voters, ...after.confState.learners]).toContain(4);
});
