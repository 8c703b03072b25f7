// A fresh process that restores a store snapshot, as a member does when it restarts: prints the
// restore time and the process's memory holding the store (after a full GC).
import { readFileSync } from "node:fs";
import { reportFigure } from "@shoal/base";
import { Store } from "../src/store.js";

const [file, expected] = process.argv.slice(2) as [string, string];
const data = readFileSync(file);
const store = new Store();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
store.restore(data, 1);
const cpu = process.cpuUsage(cpu0);
reportFigure("store_restore_s_100k_tasks", (performance.now() - t0) / 1000, "s");
// CPU time as context: on the shared machine wall time mostly measures the wait for a core.
reportFigure("store_restore_cpu_s_100k_tasks", (cpu.user + cpu.system) / 1e6, "s");
if (store.view((tx) => tx.tasks.count()) !== Number(expected)) throw new Error("restore lost tasks");
(globalThis as { gc?: () => void }).gc?.();
const m = process.memoryUsage();
reportFigure("store_rss_mib_100k_tasks", Math.round(m.rss / (1024 * 1024)), "MiB");
reportFigure("store_heap_mib_100k_tasks", Math.round(m.heapUsed / (1024 * 1024)), "MiB");
