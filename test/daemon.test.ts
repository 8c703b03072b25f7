// `shoal daemon` end to end: three daemons as real processes in three testkit hosts (one manager,
// two workers), joined through each host's admin socket with the built `shoal`, a replicated
// busybox httpd service on real runc containers across the nodes, scaled, a worker daemon
// restarted with its tasks running, and a teardown that leaves nothing behind.
import { waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTPD_COMMAND, startCluster, type TaskJson, type TestCluster } from "./support/cluster.js";

let cluster: TestCluster | undefined;

beforeAll(async () => {
  // A worker's restart must fit in the 3 missed heartbeats after which its tasks are replaced,
  // whatever the machine's load: 5 s periods give it 15 s.
  cluster = await startCluster({ managers: 1, workers: 2, heartbeatMs: 5_000 });
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

  it("promotes a worker and demotes it again in its running daemon", async () => {
    const worker = c().workers[1];
    if (worker === undefined || worker.nodeId === undefined) throw new Error("no second worker");
    const m = c().manager;
    const pidBefore = worker.pid;
    await m.shoalOk(["node", "promote", worker.nodeId]);
    await waitFor(
      async () => {
        const r = await worker.shoal(["node", "ls"]);
        return r.code === 0;
      },
      {
        description: `${worker.name} serving Control as a manager`,
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    worker.role = "manager";
    expect(worker.pid).toBe(pidBefore);
    // Both managers see two Raft members, and the service is untouched.
    for (const d of [m, worker]) {
      await waitFor(
        async () => {
          const nodes = await d.shoalJson<{ managerStatus?: { raftId?: number | string } }[]>(["node", "ls"]);
          return nodes.filter((n) => Number(n.managerStatus?.raftId ?? 0) !== 0).length === 2;
        },
        { description: `two managers as ${d.name} sees them`, timeoutMs: 60_000, intervalMs: 500 },
      );
    }
    await c().waitForRunning("web", 4);

    await m.shoalOk(["node", "demote", worker.nodeId]);
    await waitFor(
      async () => {
        const r = await worker.shoal(["service", "ls"]);
        return r.code !== 0 && r.stderr.includes("this node is a worker");
      },
      { description: `${worker.name} back to a worker`, timeoutMs: 120_000, intervalMs: 500 },
    );
    worker.role = "worker";
    expect(worker.pid).toBe(pidBefore);
    await waitFor(
      async () => {
        const nodes = await m.shoalJson<{ managerStatus?: { raftId?: number | string } }[]>(["node", "ls"]);
        return nodes.filter((n) => Number(n.managerStatus?.raftId ?? 0) !== 0).length === 1;
      },
      { description: "one manager left", timeoutMs: 60_000, intervalMs: 500 },
    );
    await c().waitForRunning("web", 4);
  }, 400_000);

  it("lets a worker leave (its containers go, its tasks move) and join again", async () => {
    const worker = c().workers[1];
    if (worker === undefined) throw new Error("no second worker");
    // A role change that the previous step started may still be finishing on this node: the
    // daemon refuses a leave meanwhile, and the user tries again.
    await waitFor(
      async () => {
        const r = await worker.shoal(["cluster", "leave"]);
        if (r.code === 0) return true;
        if (r.stderr.includes("another cluster change is in progress")) return false;
        throw new Error(`shoal cluster leave on ${worker.name} exited ${r.code}:\n${r.stderr}`);
      },
      { description: `${worker.name} to leave`, timeoutMs: 60_000, intervalMs: 500 },
    );
    expect((await worker.containers()).filter((x) => x.status === "running")).toEqual([]);
    const info = await worker.shoal(["node", "ls"]);
    expect(info.stderr).toContain("not part of a cluster");
    const tasks = await c().waitForRunning("web", 4);
    expect(tasks.some((t) => t.nodeId === worker.nodeId)).toBe(false);
    await c().join(worker, "worker");
    const nodes = await c().manager.shoalJson<{ id: string }[]>(["node", "ls"]);
    expect(nodes.map((n) => n.id)).toContain(worker.nodeId);
  }, 400_000);

  it("tears down without leaving a process, mount, cgroup or namespace behind", async () => {
    const current = c();
    cluster = undefined;
    await current.destroy();
    expect(await current.leftovers()).toEqual([]);
  }, 300_000);
});
