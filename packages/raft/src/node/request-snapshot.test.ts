import { afterEach, expect, it } from "vitest";
import { kv, TestCluster, waitFor } from "./test-cluster.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

it("requestSnapshot() snapshots at the applied index without waiting for snapshotEntries", async () => {
  const c = new TestCluster([1, 2, 3], { snapshotEntries: 10_000, snapshotCatchUpEntries: 0 });
  cluster = c;
  await c.start();
  const leader = await c.waitForLeader();
  for (let i = 0; i < 5; i++) await leader.propose(kv(`k${i}`, "v"));
  const storage = c.members.get(leader.id)!.storage;
  expect(storage.snapshot().meta.index).toBe(0);
  leader.requestSnapshot();
  // The snapshot is taken after the next Ready; a heartbeat tick brings one.
  const index = await waitFor(() => storage.snapshot().meta.index || undefined, 5000, "a snapshot");
  expect(index).toBeGreaterThanOrEqual(leader.applied - 1);
  expect(storage.snapshot().meta.confState.voters).toEqual([1, 2, 3]);
});

it("requestSnapshot() does nothing when snapshots are off", async () => {
  const c = new TestCluster([1, 2, 3], { snapshotEntries: 0 });
  cluster = c;
  await c.start();
  const leader = await c.waitForLeader();
  await leader.propose(kv("k", "v"));
  leader.requestSnapshot();
  await leader.propose(kv("k2", "v"));
  expect(c.members.get(leader.id)!.storage.snapshot().meta.index).toBe(0);
});
