// In one process: a store holding 100,000 realistic tasks — its memory, its snapshot encode and
// restore times, and how fast watch events reach a watcher.
import { reportFigure } from "@shoal/base";
import { Network, Node } from "@shoal/proto";
import { Store } from "../src/store.js";
import { realisticService, realisticTask } from "./fixtures.js";

const TASKS = 100_000;
const SERVICES = 100;
const NODES = 50;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function rssMiB(): number {
  gc();
  return process.memoryUsage().rss / (1024 * 1024);
}

export async function run(): Promise<void> {
  const baseline = rssMiB();
  const store = new Store();
  const services = Array.from({ length: SERVICES }, (_, i) => realisticService(i));
  await store.update((tx) => {
    tx.networks.create(Network.fromPartial({ id: "ingress-net", spec: { name: "ingress" } }));
    for (let n = 0; n < NODES; n++)
      tx.nodes.create(Node.fromPartial({ id: `node${n}`, spec: { name: `node${n}` } }));
    for (const s of services) tx.services.create(s);
  });
  await store.batch((b) => {
    for (let i = 0; i < TASKS; i++) {
      const s = services[i % SERVICES]!;
      b.update((tx) => tx.tasks.create(realisticTask(s, Math.floor(i / SERVICES) + 1, `node${i % NODES}`)));
    }
  });
  const held = rssMiB();
  reportFigure("store_rss_mib_100k_tasks", Math.round(held), "MiB");
  reportFigure("store_rss_mib_100k_tasks_above_baseline", Math.round(held - baseline), "MiB");

  let t0 = performance.now();
  const snap = store.snapshot();
  reportFigure("store_snapshot_s_100k_tasks", (performance.now() - t0) / 1000, "s");
  reportFigure("store_snapshot_mib_100k_tasks", snap.byteLength / (1024 * 1024), "MiB");

  const copy = new Store();
  t0 = performance.now();
  copy.restore(snap, store.applied);
  reportFigure("store_restore_s_100k_tasks", (performance.now() - t0) / 1000, "s");
  if (copy.view((tx) => tx.tasks.count()) !== TASKS) throw new Error("restore lost tasks");

  // Watch throughput: a watcher drains the events of 20,000 task updates.
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
