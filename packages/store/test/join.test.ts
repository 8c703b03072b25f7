import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { TestCluster } from "./cluster.js";
import { node } from "./objects.js";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
});

it("a member that joins empty catches up by the leader's snapshot, taken after its addVoter", async () => {
  const c = new TestCluster({ snapshotEntries: 50, snapshotCatchUpEntries: 10 });
  cluster = c;
  for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
  const leader = await c.leader();
  for (let i = 0; i < 120; i++) await leader.update((tx) => tx.nodes.create(node(`n${i}`)));
  const hash = await c.converged();
  const joining = await c.start(4);
  await leader.raft.proposeConfChange({ type: "addVoter", nodeId: 4 });
  expect(await c.converged()).toBe(hash);
  expect(joining.view((tx) => tx.nodes.count())).toBe(120);
  // Installed from the leader's snapshot (taken after the addVoter), not replayed from index 1.
  expect(readdirSync(join(c.root, "m4", "snap")).filter((f) => f.endsWith(".snap")).length).toBeGreaterThan(
    0,
  );
});
