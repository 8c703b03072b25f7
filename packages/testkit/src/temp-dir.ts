import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir {
  readonly path: string;
  /** Deletes the directory and everything in it. Idempotent. */
  remove(): Promise<void>;
}

/** A fresh directory under the OS temp dir, e.g. /tmp/shoal-raft-Xa81kQ. Call `remove()` in afterEach/afterAll. */
/** The name prefix of a temp dir when the caller gives none. */
export const DEFAULT_TEMP_DIR_PREFIX = "shoal-test-";

export async function tempDir(prefix = DEFAULT_TEMP_DIR_PREFIX): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    remove: () => rm(path, { recursive: true, force: true }),
  };
}
