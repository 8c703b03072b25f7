// logs_write_mib_per_s: a container writing its stdout as fast as it can (`seq 1 1000000`, 6.6 MiB)
// through conmon into rotated 1 MiB files, from start until it exited, in MiB of the container's
// own output per second, median of 3 runs. Enough files are kept to hold everything, and every
// run checks that `logs()` gives back each line once, in order: rotation on, nothing lost.
import { percentile, reportFigure } from "@shoal/base";
import { makeSandbox } from "../src/container/test-support.js";

const LINES = 1_000_000;
const RUNS = 3;

export async function run(): Promise<void> {
  const sb = await makeSandbox();
  try {
    const rt = sb.runtime();
    await rt.open();
    let payload = 0;
    for (let i = 1; i <= LINES; i++) payload += String(i).length + 1;
    const rates: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const c = await rt.create({
        spec: { image: "busybox", command: ["/bin/seq", "1", String(LINES)] },
        owner: { taskId: "bench", serviceId: "bench" },
        logs: { maxSizeBytes: 1024 * 1024, maxFiles: 200 },
      });
      const t0 = performance.now();
      await rt.start(c.id);
      await rt.wait(c.id);
      const seconds = (performance.now() - t0) / 1000;
      let expected = 1;
      for await (const e of rt.logs(c.id)) {
        if (e.log !== String(expected)) throw new Error(`line ${expected} is "${e.log}" in the log`);
        expected++;
      }
      if (expected !== LINES + 1) throw new Error(`the log holds ${expected - 1} of ${LINES} lines`);
      rates.push(payload / (1024 * 1024) / seconds);
      await rt.remove(c.id);
    }
    reportFigure("logs_write_mib_per_s", Math.round(percentile(rates, 50) * 10) / 10, "MiB/s");
  } finally {
    await sb.destroy();
  }
}
