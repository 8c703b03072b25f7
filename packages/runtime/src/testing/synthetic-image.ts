import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { assembleImage, type FixtureImage, type FixtureLayer } from "./busybox-image.js";

// Larger images for benchmarks: layers of many files, half random (incompressible, like
// binaries) and half text (compressible, like configs and scripts).

const run = promisify(execFile);
const gzipAsync = promisify(gzip);

/** One gzip layer of about `sizeBytes` uncompressed, in files of `fileBytes`. */
export async function buildSyntheticLayer(
  sizeBytes: number,
  fileBytes = 128 * 1024,
  seed = 0,
): Promise<FixtureLayer> {
  const root = await mkdtemp(join(tmpdir(), "shoal-synthetic-layer-"));
  try {
    const files = Math.max(1, Math.floor(sizeBytes / fileBytes));
    const text = Buffer.from(
      `line ${seed} of a config file with some repeated words words words\n`.repeat(
        Math.ceil(fileBytes / 60),
      ),
    );
    for (let i = 0; i < files; i++) {
      const dir = join(root, `data${seed}`, `d${i % 16}`);
      if (i < 16) await mkdir(dir, { recursive: true });
      const content = i % 2 === 0 ? randomBytes(fileBytes) : text.subarray(0, fileBytes);
      await writeFile(join(dir, `f${i}`), content);
    }
    const { stdout: tar } = await run(
      "tar",
      [
        "--create",
        "--file=-",
        `--directory=${root}`,
        "--sort=name",
        "--numeric-owner",
        "--owner=0",
        "--group=0",
        "--mtime=@0",
        ".",
      ],
      { encoding: "buffer", maxBuffer: 2 ** 31 },
    );
    const gz = await gzipAsync(tar, { level: 6 });
    const digest = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
    return { tar, gzip: gz, diffId: digest(tar), digest: digest(gz) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** An image of `layerCount` synthetic layers of about `layerBytes` each (uncompressed). */
export async function buildSyntheticImage(layerCount: number, layerBytes: number): Promise<FixtureImage> {
  const layers: FixtureLayer[] = [];
  for (let i = 0; i < layerCount; i++) layers.push(await buildSyntheticLayer(layerBytes, 128 * 1024, i));
  return assembleImage("one-layer", layers);
}
