import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir {
  readonly path: string;
  /** Deletes the directory and everything in it. Idempotent. */
  remove(): Promise<void>;
}

/** A fresh directory under the OS temp dir, e.g. /tmp/shoal-raft-Xa81kQ. Call `remove()` in afterEach/afterAll. */
export async function tempDir(prefix = "shoal-test-"): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    remove: () => rm(path, { recursive: true, force: true }),
  };
}
