import { constants } from "node:fs";
import { type FileHandle, open, readFile, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import { ignoring } from "../ignore.js";
import { cleanToolMessage, runChecked, runCommand } from "./command.js";
import { ContainerErrorCode } from "./errors.js";

export interface RuncState {
  id: string;
  pid: number;
  /** creating | created | running | paused | stopped */
  status: string;
  bundle: string;
}

/** The runc command line, with this runtime's private state root. */
export class Runc {
  constructor(
    readonly runcPath: string,
    readonly root: string,
  ) {}

  private args(...rest: string[]): string[] {
    return ["--root", this.root, ...rest];
  }

  /** undefined when runc does not know the container. */
  async state(id: string): Promise<RuncState | undefined> {
    const r = await runCommand(this.runcPath, this.args("state", id));
    if (r.exitCode !== 0) {
      if (/does not exist|not exist/.test(r.stderr)) return undefined;
      throw new ShoalError(
        ContainerErrorCode.CommandFailed,
        `runc state "${id}" failed: ${cleanToolMessage(r.stderr)}`,
      );
    }
    return JSON.parse(r.stdout) as RuncState;
  }

  async list(): Promise<RuncState[]> {
    const out = await runChecked(this.runcPath, this.args("list", "--format", "json"), "runc list");
    const parsed = JSON.parse(out.trim() === "" ? "null" : out) as RuncState[] | null;
    return parsed ?? [];
  }

  /**
   * What `runc start` does, without spawning runc: open the container's exec fifo for reading,
   * which lets runc's init (blocked opening it for writing) write its byte and exec the process,
   * then remove the fifo, which is how runc tells "running" from "created". Saves a Go process
   * start (~10 ms, more on a loaded node) on every container start. Valid for bundles without
   * hooks, which Shoal never writes.
   */
  async startViaFifo(id: string, initPid: number, timeoutMs = 10_000): Promise<void> {
    const fifo = join(this.root, id, "exec.fifo");
    let handle: FileHandle;
    try {
      handle = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new ShoalError(
        ContainerErrorCode.StartFailed,
        `container "${id}" did not start: it is not in the created state`,
        {
          cause: err,
        },
      );
    }
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (await readStartByte(handle, id)) break;
        if (!(await processAlive(initPid))) {
          // A short-lived process may have been released, run and exited between our read and
          // the liveness check; its byte is then still in the fifo (runc checks the same way).
          if (await readStartByte(handle, id)) break;
          throw new ShoalError(
            ContainerErrorCode.StartFailed,
            `container "${id}" did not start: its init process is gone`,
          );
        }
        if (Date.now() > deadline) {
          throw new ShoalError(
            ContainerErrorCode.StartFailed,
            `container "${id}" did not start within ${timeoutMs} ms`,
          );
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      await handle.close();
    }
    await unlink(fifo);
  }

  async start(id: string): Promise<void> {
    const r = await runCommand(this.runcPath, this.args("start", id));
    if (r.exitCode !== 0) {
      throw new ShoalError(
        ContainerErrorCode.StartFailed,
        `container "${id}" did not start: ${cleanToolMessage(r.stderr)}`,
      );
    }
  }

  /** Sends a signal; false when the container is already gone or stopped. */
  async kill(id: string, signal: string, all = false): Promise<boolean> {
    const r = await runCommand(this.runcPath, this.args("kill", ...(all ? ["--all"] : []), id, signal));
    if (r.exitCode === 0) return true;
    if (/not running|does not exist|container not running|process already finished/.test(r.stderr))
      return false;
    throw new ShoalError(
      ContainerErrorCode.CommandFailed,
      `runc kill "${id}" ${signal} failed: ${cleanToolMessage(r.stderr)}`,
    );
  }

  /** Deletes runc's record (and the container's cgroups); a missing container is not an error. */
  async delete(id: string, force = false): Promise<void> {
    const r = await runCommand(this.runcPath, this.args("delete", ...(force ? ["--force"] : []), id));
    if (r.exitCode === 0 || /does not exist/.test(r.stderr)) return;
    throw new ShoalError(
      ContainerErrorCode.CommandFailed,
      `runc delete "${id}" failed: ${cleanToolMessage(r.stderr)}`,
    );
  }

  /** Runs a process inside the container (health checks); exit code -1 when it timed out. */
  async exec(
    id: string,
    argv: readonly string[],
    opts: { user?: string; cwd?: string; env?: readonly string[]; timeoutMs?: number; pidFile?: string },
  ): Promise<{ exitCode: number; output: string }> {
    const flags: string[] = [];
    if (opts.pidFile !== undefined) flags.push("--pid-file", opts.pidFile);
    if (opts.user !== undefined) flags.push("--user", opts.user);
    if (opts.cwd !== undefined) flags.push("--cwd", opts.cwd);
    for (const e of opts.env ?? []) flags.push("--env", e);
    const r = await runCommand(this.runcPath, this.args("exec", ...flags, id, ...argv), {
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      maxOutputBytes: 64 * 1024,
    });
    if (opts.pidFile !== undefined) {
      // Killing `runc exec` on timeout leaves its process running inside the container.
      const pid = Number((await ignoring(readFile(opts.pidFile, "utf8"), ["ENOENT"], "")).trim());
      if (r.timedOut && pid > 0) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // it finished after all
        }
      }
      await rm(opts.pidFile, { force: true });
    }
    if (r.timedOut) return { exitCode: -1, output: `timed out after ${opts.timeoutMs} ms` };
    return { exitCode: r.exitCode, output: r.stdout + r.stderr };
  }
}

async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const end = stat.lastIndexOf(")");
    return stat.slice(end + 2, end + 3) !== "Z";
  } catch {
    return false;
  }
}

/** True once runc's init has written its byte; false while nothing is there yet. */
async function readStartByte(handle: FileHandle, id: string): Promise<boolean> {
  const buf = Buffer.alloc(16);
  let n = 0;
  try {
    ({ bytesRead: n } = await handle.read(buf, 0, buf.length, null));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
  }
  if (n === 0) return false;
  if (buf.toString("utf8", 0, n) !== "0") {
    throw new ShoalError(
      ContainerErrorCode.StartFailed,
      `container "${id}" did not start: unexpected exec fifo content`,
    );
  }
  return true;
}
