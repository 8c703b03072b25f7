// A store holding 100,000 realistic tasks (100 services, 50 nodes): snapshot encode time; restore
// time and memory in a fresh process (a member restarting from its snapshot); and how fast watch
// events of applied updates reach a watcher.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { reportFigure } from "@shoal/base";
import { Network, Node, StoreSnapshot } from "@shoal/proto";
import { Store } from "../src/store.js";
import { realisticService, realisticTask } from "./fixtures.js";

const TASKS = 100_000;
const SERVICES = 100;
const NODES = 50;
const restoreScript = join(dirname(fileURLToPath(import.meta.url)), "restore-child.ts");

/** The cluster as a plain StoreSnapshot (building it through 500 transactions only costs bench time). */
function clusterSnapshot(): Uint8Array {
  const services = Array.from({ length: SERVICES }, (_, i) => realisticService(i));
  return StoreSnapshot.encode({
    nodes: Array.from({ length: NODES }, (_, n) =>
      Node.fromPartial({ id: `node${n}`, spec: { name: `node${n}` } }),
    ),
    services,
    tasks: Array.from({ length: TASKS }, (_, i) =>
      realisticTask(services[i % SERVICES]!, Math.floor(i / SERVICES) + 1, `node${i % NODES}`),
    ),
    networks: [Network.fromPartial({ id: "ingress-net", spec: { name: "ingress" } })],
    secrets: [],
    configs: [],
    clusters: [],
    members: [],
    removedMembers: [],
  }).finish();
}

export async function run(): Promise<void> {
  const store = new Store();
  store.restore(clusterSnapshot(), 1);

  let t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const snap = store.snapshot();
  const cpu = process.cpuUsage(cpu0);
  reportFigure("store_snapshot_s_100k_tasks", (performance.now() - t0) / 1000, "s");
  reportFigure("store_snapshot_cpu_s_100k_tasks", (cpu.user + cpu.system) / 1e6, "s");
  reportFigure("store_snapshot_mib_100k_tasks", snap.byteLength / (1024 * 1024), "MiB");

  const dir = mkdtempSync(join(tmpdir(), "shoal-storebench-snap-"));
  try {
    const file = join(dir, "store.snap");
    writeFileSync(file, snap);
    const out = execFileSync(
      process.execPath,
      ["--expose-gc", "--conditions=shoal-source", "--import", "tsx", restoreScript, file, String(TASKS)],
      { encoding: "utf8" },
    );
    process.stdout.write(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Watch throughput: a watcher drains the events of 20,000 applied task updates.
  const updates = 20_000;
  const ids = store.view((tx) =>
    tx.tasks
      .list()
      .slice(0, updates)
      .map((t) => t.id),
  );
  const watch = store.watch({ filter: { kinds: ["task"], commits: false }, maxQueuedEvents: updates * 2 });
  let seen = 0;
  t0 = performance.now();
  const draining = (async () => {
    for await (const _e of watch) if (++seen === updates) break;
  })();
  await store.batch((b) => {
    for (const id of ids)
      b.update((tx) => {
        const t = tx.tasks.get(id)!;
        tx.tasks.update({ ...t, status: { ...t.status!, message: "still running" } });
      });
  });
  await draining;
  reportFigure(
    "store_watch_events_per_s",
    Math.round(updates / ((performance.now() - t0) / 1000)),
    "events/s",
  );
}
