// `shoal daemon` end to end: three daemons as real processes in three testkit hosts (one manager,
// two workers), joined through each host's admin socket with the built `shoal`, a replicated
// busybox httpd service on real runc containers across the nodes, scaled, a worker daemon
// restarted with its tasks running, and a teardown that leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTPD_COMMAND, startCluster, type TaskJson, type TestCluster } from "./support/cluster.js";

let cluster: TestCluster | undefined;

beforeAll(async () => {
  cluster = await startCluster({ managers: 1, workers: 2 });
}, 300_000);

afterAll(async () => {
  await cluster?.destroy();
}, 300_000);

const c = (): TestCluster => {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
};

describe("shoal daemon", () => {
  it("serves NodeAdmin and Control on a manager's admin socket, and refuses Control on a worker's", async () => {
    const nodes = await c().manager.shoalJson<{ id: string; status?: { state?: string } }[]>(["node", "ls"]);
    expect(nodes.map((n) => n.id).sort()).toEqual(
      c()
        .daemons.map((d) => d.nodeId)
        .sort(),
    );
    const worker = c().workers[0];
    if (worker === undefined) throw new Error("no worker");
    const r = await worker.shoal(["service", "ls"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("this node is a worker");
    const again = await worker.shoal(["cluster", "init"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("already part of cluster");
  });

  it("runs 4 replicas as runc containers across the nodes, then scales", async () => {
    const m = c().manager;
    await m.shoalOk([
      "service",
      "create",
      "--detach",
      "--name",
      "web",
      "--replicas",
      "4",
      c().image,
      ...HTTPD_COMMAND,
    ]);
    const tasks = await c().waitForRunning("web", 4);
    expect(new Set(tasks.map((t) => t.nodeId)).size).toBe(3);
    await m.shoalOk(["service", "scale", "--detach", "web=6"]);
    await c().waitForRunning("web", 6);
    await m.shoalOk(["service", "scale", "--detach", "web=4"]);
    await c().waitForRunning("web", 4);
  }, 400_000);

  it("keeps a restarted worker's containers running and starts no duplicate", async () => {
    const worker = c().workers[0];
    if (worker === undefined) throw new Error("no worker");
    const before = await c().waitForRunning("web", 4);
    const mine = (ts: TaskJson[]) =>
      ts
        .filter((t) => t.nodeId === worker.nodeId)
        .map((t) => ({ id: t.id, pid: t.status?.containerStatus?.pid }))
        .sort((a, b) => a.id.localeCompare(b.id));
    const containersBefore = (await worker.containers()).filter((x) => x.status === "running");
    expect(mine(before).length).toBeGreaterThan(0);
    await worker.stop();
    // Containers outlive the daemon.
    expect((await worker.containers()).filter((x) => x.status === "running")).toEqual(containersBefore);
    await worker.start();
    const after = await c().waitForRunning("web", 4);
    expect(mine(after)).toEqual(mine(before));
    const containersAfter = (await worker.containers()).filter((x) => x.status === "running");
    expect(containersAfter.map((x) => [x.id, x.pid]).sort()).toEqual(
      containersBefore.map((x) => [x.id, x.pid]).sort(),
    );
    const all = await c().tasks("web");
    expect(all.filter((t) => t.desiredState === "TASK_STATE_RUNNING")).toHaveLength(4);
  }, 400_000);

  it("tears down without leaving a process, mount, cgroup or namespace behind", async () => {
    const current = c();
    cluster = undefined;
    await current.destroy();
    expect(await current.leftovers()).toEqual([]);
  }, 300_000);
});
