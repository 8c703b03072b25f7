import { type FSWatcher, watch } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, type Logger, ShoalError } from "@shoal/base";
import { ignoring } from "../ignore.js";
import { readExitFile } from "./conmon.js";
import { ContainerErrorCode } from "./errors.js";
import type { ContainerPaths } from "./record.js";
import type { ContainerExit } from "./types.js";

export interface ExitWatcherDeps {
  exitDir: string;
  clock: Clock;
  logger: Logger;
  /** Fallback poll period when no watch event arrives. */
  pollMs: number;
  paths: (id: string) => ContainerPaths;
  initPid: (id: string) => number | undefined;
}

/**
 * Learns about exits from conmon's files: one inotify watch on the shared exit dir wakes the
 * waiters of a container, and a short poll covers missed events (and runtimes on filesystems
 * without inotify).
 */
export class ExitWatcher {
  private readonly wakers = new Map<string, Set<() => void>>();
  private watcher: FSWatcher | undefined;
  private closed = false;

  constructor(private readonly deps: ExitWatcherDeps) {}

  watch(): void {
    this.watcher = watch(this.deps.exitDir, (_event, file) => {
      if (typeof file === "string") this.wake(file);
    });
    this.watcher.on("error", (err) =>
      this.deps.logger.warn({ err }, "exit dir watch failed; waits fall back to polling"),
    );
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    for (const id of [...this.wakers.keys()]) this.wake(id);
  }

  wake(id: string): void {
    for (const wake of this.wakers.get(id) ?? []) wake();
  }

  /** The exit as conmon recorded it, or undefined while the container runs. */
  async exitOf(id: string): Promise<ContainerExit | undefined> {
    const exitPath = join(this.deps.exitDir, id);
    const paths = this.deps.paths(id);
    const code = (await readExitFile(exitPath)) ?? (await readExitFile(paths.exitFile));
    if (code === undefined) return this.lostExit(id);
    const st = (await ignoring(stat(exitPath), ["ENOENT"], undefined)) ?? (await stat(paths.exitFile));
    const oomKilled = await stat(paths.oomFile).then(
      () => true,
      () => false,
    );
    return { exitCode: code, oomKilled, finishedAtMs: st.mtimeMs };
  }

  /**
   * A container whose conmon was killed (by hand, by the OOM killer) never gets an exit file.
   * When both conmon and the container's init are gone, report the exit as unknown (255, as
   * Docker does) instead of "running" forever.
   */
  private async lostExit(id: string): Promise<ContainerExit | undefined> {
    const pid = this.deps.initPid(id);
    if (pid === undefined || (await isAlive(pid))) return undefined;
    const paths = this.deps.paths(id);
    const conmonPid = Number((await ignoring(readFile(paths.conmonPidFile, "utf8"), ["ENOENT"], "")).trim());
    if (conmonPid > 0 && (await isAlive(conmonPid))) return undefined;
    // conmon may have written the file just before exiting.
    const code = (await readExitFile(join(this.deps.exitDir, id))) ?? (await readExitFile(paths.exitFile));
    if (code !== undefined) return this.exitOf(id);
    return { exitCode: 255, oomKilled: false, finishedAtMs: this.deps.clock.now() };
  }

  async wait(id: string, signal?: AbortSignal): Promise<ContainerExit> {
    for (;;) {
      const exit = await this.exitOf(id);
      if (exit !== undefined) return exit;
      if (signal?.aborted) throw signal.reason;
      if (this.closed)
        throw new ShoalError(
          ContainerErrorCode.InvalidState,
          `runtime closed while waiting for container "${id}"`,
        );
      await this.nextEvent(id, signal);
    }
  }

  /** Like `wait`, but undefined when the container is still running after `timeoutMs`. */
  async waitFor(id: string, timeoutMs: number): Promise<ContainerExit | undefined> {
    const ac = new AbortController();
    const timer = this.deps.clock.setTimeout(() => ac.abort(new Error("timeout")), timeoutMs);
    try {
      return await this.wait(id, ac.signal);
    } catch (err) {
      if (ac.signal.aborted) return undefined;
      throw err;
    } finally {
      this.deps.clock.clearTimeout(timer);
    }
  }

  private nextEvent(id: string, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.wakers.get(id) ?? new Set();
      this.wakers.set(id, set);
      const wake = () => {
        this.deps.clock.clearTimeout(timer);
        signal?.removeEventListener("abort", wake);
        set.delete(wake);
        if (set.size === 0) this.wakers.delete(id);
        resolve();
      };
      const timer = this.deps.clock.setTimeout(wake, this.deps.pollMs);
      set.add(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }
}

/** A zombie counts as dead: whoever reaps it (pid 1 once conmon is gone) may take its time. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const end = stat.lastIndexOf(")");
    return stat.slice(end + 2, end + 3) !== "Z";
  } catch {
    return false;
  }
}
