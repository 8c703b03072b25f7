// image_unpack_mib_per_s: uncompressed MiB per second through unpackLayer (gunzip, diff id hash,
// whiteout rewrite, GNU tar extraction) for a 64 MiB layer of 128 KiB files, median of 3 runs.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, reportFigure } from "@shoal/base";
import { unpackLayer } from "../src/image/unpack.js";
import { buildSyntheticLayer } from "../src/testing/synthetic-image.js";

const LAYER_BYTES = 64 * 1024 * 1024;
const RUNS = 3;

export async function run(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "shoal-bench-unpack-"));
  try {
    const layer = await buildSyntheticLayer(LAYER_BYTES);
    const blob = join(work, "layer.tar.gz");
    await writeFile(blob, layer.gzip);
    const rates: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = join(work, `unpacked-${i}`);
      const started = process.hrtime.bigint();
      const result = await unpackLayer(blob, dir, { expectedDiffId: layer.diffId });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rates.push(result.uncompressedBytes / (1024 * 1024) / seconds);
      await rm(dir, { recursive: true, force: true });
    }
    reportFigure("image_unpack_mib_per_s", Math.round(percentile(rates, 50) * 10) / 10, "MiB/s");
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
