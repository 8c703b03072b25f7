import { dirname } from "node:path";
import type { WalFileSystem } from "./file-system.js";

/** fsync a directory so that a create, rename or unlink inside it survives a power loss. */
export async function fsyncDir(fs: WalFileSystem, dir: string): Promise<void> {
  const fh = await fs.open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates `dir` (and missing parents) durably: a new directory's entry lives in its parent, so
 * every parent that gained one is fsynced, from the deepest up. Without it a power loss can take
 * `wal/` or `snap/` away together with everything fsynced inside them.
 */
export async function mkdirDurable(fs: WalFileSystem, dir: string): Promise<void> {
  const first = await fs.mkdir(dir);
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    await fsyncDir(fs, dirname(d));
    if (d === first || dirname(d) === d) return;
  }
}

/**
 * fsyncs every ancestor of `dir`, deepest first, so that `dir` itself survives a power loss. A
 * predecessor process may have created them (mkdirDurable) and died before fsyncing; this one then
 * finds them in the page cache and cannot tell. Stops at an ancestor it may not open: that one it
 * did not create.
 */
export async function fsyncAncestors(fs: WalFileSystem, dir: string): Promise<void> {
  for (let d = dir; dirname(d) !== d; d = dirname(d)) {
    try {
      await fsyncDir(fs, dirname(d));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "EACCES" || code === "EPERM") return;
      throw err;
    }
  }
}

/**
 * Writes `path` so that after a crash it holds either its old content or all of `data`, never a
 * mix: write a temp file, fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(
  fs: WalFileSystem,
  dir: string,
  path: string,
  data: Uint8Array | Uint8Array[],
): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await fs.open(tmp, "w");
  try {
    let pos = 0;
    for (const chunk of Array.isArray(data) ? data : [data]) {
      await fh.write(chunk, 0, chunk.length, pos);
      pos += chunk.length;
    }
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.rm(tmp);
    throw err;
  }
  await fh.close();
  await fs.rename(tmp, path);
  await fsyncDir(fs, dir);
}
