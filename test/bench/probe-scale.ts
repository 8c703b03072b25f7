import { startCluster } from "../support/cluster.js";
const cluster = await startCluster({ managers: 1, workers: 2 });
const m = cluster.manager;
try {
  const t0 = Date.now();
  await m.shoalOk(["service", "create", "--detach", "--name", "s", "--replicas", "10", "--stop-grace-period", "1s", cluster.image, "sleep", "1000000"]);
  await cluster.waitForRunning("s", 10, 600_000);
  console.log("10 running after", (Date.now() - t0) / 1000);
  const t1 = Date.now();
  await m.shoalOk(["service", "scale", "--detach", "s=100"]);
  for (;;) {
    const tasks = await cluster.tasks("s");
    const by: Record<string, number> = {};
    for (const t of tasks) {
      const k = `${t.nodeId.slice(0, 4)}:${t.status?.state?.replace("TASK_STATE_", "")}`;
      by[k] = (by[k] ?? 0) + 1;
    }
    console.log(((Date.now() - t1) / 1000).toFixed(1), JSON.stringify(by));
    if (tasks.filter((t) => t.status?.state === "TASK_STATE_RUNNING").length >= 100) break;
    if (Date.now() - t1 > 300_000) break;
    await new Promise((r) => setTimeout(r, 3000));
  }
  for (const d of cluster.daemons) console.log(d.name, d.nodeId, (await d.logTail(15)));
} finally {
  await cluster.destroy();
}
