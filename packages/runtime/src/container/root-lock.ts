import { type FileHandle, open } from "node:fs/promises";
import { createRequire } from "node:module";
import { ShoalError } from "@shoal/base";
import { ContainerErrorCode } from "./errors.js";

/** The part of fs-native-extensions (a CommonJS addon without bundled types) that we use. */
interface FsNativeExtensions {
  /** Exclusive lock on the whole file without waiting; false when another description holds it. */
  tryLock(fd: number): boolean;
}
const fsx = createRequire(import.meta.url)("fs-native-extensions") as FsNativeExtensions;

/**
 * One runtime per data dir: a second one would tear down the first one's half-made containers as
 * crash leftovers. The guard is a kernel lock (an open-file-description lock, `F_OFD_SETLK`) on
 * `<root>/owner.lock`, held from `open` to `close`. The kernel drops it when the holder's process
 * dies, however it dies, so there is nothing stale to judge after a crash or a reboot (a pid file
 * could name a pid reused by another process) and no window between checking and claiming. The
 * holder's pid is written into the file for people, never read back as proof.
 */
export class RootLock {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  static async acquire(path: string, root: string): Promise<RootLock> {
    const handle = await open(path, "a+", 0o600);
    let locked: boolean;
    try {
      locked = fsx.tryLock(handle.fd);
    } catch (err) {
      await handle.close();
      throw err;
    }
    if (!locked) {
      const holder = (await handle.readFile("utf8")).trim();
      await handle.close();
      throw new ShoalError(
        ContainerErrorCode.RootInUse,
        `container root "${root}" is in use by another runtime${holder !== "" ? ` (process ${holder})` : ""}`,
        { hint: "stop the other daemon, or give this one its own data dir" },
      );
    }
    await handle.truncate(0);
    await handle.write(`${process.pid}\n`, 0);
    return new RootLock(handle, path);
  }

  /** Closing the descriptor releases the lock. */
  async release(): Promise<void> {
    await this.handle.close();
  }
}
