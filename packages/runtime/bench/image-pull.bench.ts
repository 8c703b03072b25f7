// image_pull_mib_per_s: blob MiB (as transferred, gzip) per second for a full pull from a
// loopback docker-registry into an empty store: manifest, 4 layers of 24 MiB (uncompressed)
// downloaded in parallel, verified, unpacked. Median of 3 pulls, each into a fresh store.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, reportFigure } from "@shoal/base";
import { LocalImageStore } from "../src/image/image-store.js";
import { writeOciLayout } from "../src/testing/busybox-image.js";
import { startRegistry } from "../src/testing/registry.js";
import { buildSyntheticImage } from "../src/testing/synthetic-image.js";

const RUNS = 3;

export async function run(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "shoal-bench-pull-"));
  const registry = await startRegistry();
  try {
    const image = await buildSyntheticImage(4, 24 * 1024 * 1024);
    await writeOciLayout(image, join(work, "layout"));
    const registries = { [registry.host]: registry.hostConfig() };
    const ref = `${registry.host}/bench/synthetic:1`;
    const source = new LocalImageStore({ root: join(work, "source"), registries });
    await source.open();
    await source.importImage(join(work, "layout"), { ref });
    await source.push(ref);
    const blobBytes = image.layers.reduce((sum, l) => sum + l.gzip.length, 0) + image.config.length;
    const rates: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const target = new LocalImageStore({ root: join(work, `target-${i}`), registries });
      await target.open();
      const started = process.hrtime.bigint();
      await target.pull(ref);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rates.push(blobBytes / (1024 * 1024) / seconds);
      await rm(join(work, `target-${i}`), { recursive: true, force: true });
    }
    reportFigure("image_pull_mib_per_s", Math.round(percentile(rates, 50) * 10) / 10, "MiB/s");
  } finally {
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}
