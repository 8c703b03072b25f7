import { open, rename, rm } from "node:fs/promises";

/** fsync a directory so that a create, rename or unlink inside it survives a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `path` so that after a crash it holds either its old content or all of `data`, never a
 * mix: write a temp file, fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(
  dir: string,
  path: string,
  data: Uint8Array | Uint8Array[],
): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, "w");
  try {
    let pos = 0;
    for (const chunk of Array.isArray(data) ? data : [data]) {
      await fh.write(chunk, 0, chunk.length, pos);
      pos += chunk.length;
    }
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dir);
}
