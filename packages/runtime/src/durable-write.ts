import { open, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Replaces `path` atomically and durably: the bytes go to a temp file beside it, which is fsynced,
 * renamed over `path`, and then the directory is fsynced so the rename itself survives a power
 * loss. A crash at any point leaves either the old content or the new, never a torn or empty file.
 */
export async function writeFileDurable(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  const file = await open(tmp, "w", mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

/** fsync of a directory: makes the entries created, renamed or removed in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
