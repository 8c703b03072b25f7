// Container start latency, parallel start, and the monitor's memory per container.
// Image present (a busybox layer dir), create + start until runc has started the process.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { percentile, reportFigure } from "@shoal/base";
import { makeSandbox } from "../src/container/test-support.js";

const SERIAL_RUNS = 40;
const PARALLEL = 50;

export async function run(): Promise<void> {
  const sb = await makeSandbox();
  try {
    const rt = sb.runtime();
    await rt.open();
    const spec = {
      image: "busybox",
      command: ["/bin/sh", "-c", "sleep 300"],
      resources: { limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 500_000_000 } },
    };
    const owner = { taskId: "bench", serviceId: "bench" };
    // Warm-up: page cache, runc and conmon binaries.
    for (let i = 0; i < 3; i++) {
      const c = await rt.create({ spec, owner });
      await rt.start(c.id);
      await rt.remove(c.id);
    }
    // Runs alternate between the default seccomp profile and none, so load drifts hit both alike.
    const samples: number[] = [];
    const unconfined: number[] = [];
    for (let i = 0; i < SERIAL_RUNS * 2; i++) {
      const confined = i % 2 === 0;
      const t0 = performance.now();
      const c = await rt.create({ spec: confined ? spec : { ...spec, seccompProfile: "unconfined" }, owner });
      await rt.start(c.id);
      (confined ? samples : unconfined).push(performance.now() - t0);
      await rt.remove(c.id);
    }
    reportFigure("runtime_start_p50_ms", Math.round(percentile(samples, 50) * 10) / 10, "ms");
    reportFigure("runtime_start_p99_ms", Math.round(percentile(samples, 99) * 10) / 10, "ms");
    reportFigure("runtime_start_unconfined_p50_ms", Math.round(percentile(unconfined, 50) * 10) / 10, "ms");

    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        const c = await rt.create({ spec, owner });
        await rt.start(c.id);
        return c.id;
      }),
    );
    reportFigure("runtime_start_50_parallel_s", Math.round((performance.now() - t0) / 10) / 100, "s");

    let rssKib = 0;
    for (const id of ids) {
      const pid = (await readFile(join(sb.dir, "rt", "containers", id, "conmon.pid"), "utf8")).trim();
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      rssKib += Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
    }
    reportFigure("runtime_monitor_rss_kib", Math.round(rssKib / ids.length), "KiB");
    await Promise.all(ids.map((id) => rt.remove(id)));
  } finally {
    await sb.destroy();
  }
}
