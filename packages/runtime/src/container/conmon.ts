import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { ShoalError } from "@shoal/base";
import { ignoring } from "../ignore.js";
import { cleanToolMessage } from "./command.js";
import { ContainerErrorCode } from "./errors.js";

export interface ConmonLaunch {
  conmonPath: string;
  runcPath: string;
  runcRoot: string;
  id: string;
  name: string;
  bundleDir: string;
  /** Where runc writes the container's init pid. */
  pidFile: string;
  /** Where conmon writes its own pid (after it daemonized). */
  conmonPidFile: string;
  /** conmon only writes it; the runtime rotates it (see `rotateLog`). */
  logPath: string;
  /** Shared dir of exit files, one per container id: a single watch sees every exit. */
  exitDir: string;
  /** Per-container dir where conmon leaves `exit` and, after an OOM kill, `oom`. */
  persistDir: string;
  socketDir: string;
  /** conmon's own stderr (its errors before it has a log); kept for diagnostics. */
  stderrPath: string;
  timeoutMs: number;
}

/**
 * Starts conmon, which runs `runc create` and then stays as the container's monitor. conmon
 * double-forks into its own session, so it is neither in our process group nor killed with us, and
 * its stdio is a file, not a pipe of ours. The one shared descriptor is the sync socket: conmon
 * reports the container's pid (or runc's error) on it, and later writes to it fail harmlessly
 * (EPIPE) once we are gone. Resolves with the container's pid once `runc create` has finished.
 */
export async function launchConmon(o: ConmonLaunch): Promise<{ pid: number }> {
  const args = [
    "--api-version",
    "1",
    "-c",
    o.id,
    "-u",
    o.id,
    "-n",
    o.name,
    "-r",
    o.runcPath,
    "-b",
    o.bundleDir,
    "-p",
    o.pidFile,
    "-P",
    o.conmonPidFile,
    "-l",
    `k8s-file:${o.logPath}`,
    "--exit-dir",
    o.exitDir,
    "--persist-dir",
    o.persistDir,
    "--socket-dir-path",
    o.socketDir,
    "--runtime-arg",
    "--root",
    "--runtime-arg",
    o.runcRoot,
    "--log-level",
    "error",
  ];
  const errFd = openSync(o.stderrPath, "a");
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(o.conmonPath, args, {
      detached: true,
      // conmon also writes an "oom" file into its working directory (besides --persist-dir):
      // keep it inside the container's own dir instead of wherever the runtime was started.
      cwd: o.persistDir,
      stdio: ["ignore", errFd, errFd, "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", _OCI_SYNCPIPE: "3" },
    });
  } finally {
    closeSync(errFd);
  }
  child.unref();
  const sync = child.stdio[3] as Readable;
  try {
    const message = await readSyncMessage(sync, child, o.timeoutMs).catch(async (err: ShoalError) => {
      const stderr = (await ignoring(readFile(o.stderrPath, "utf8"), ["ENOENT"], "")).trim();
      throw stderr === "" ? err : new ShoalError(err.code, `${err.message}: ${stderr}`, { cause: err });
    });
    if (message.data === undefined || message.data < 0) {
      const stderr = await ignoring(readFile(o.stderrPath, "utf8"), ["ENOENT"], "");
      throw new ShoalError(
        ContainerErrorCode.CreateFailed,
        `container "${o.id}" could not be created: ${cleanToolMessage(message.message ?? stderr) || "runc create failed"}`,
      );
    }
    return { pid: message.data };
  } finally {
    sync.destroy();
  }
}

function readSyncMessage(
  sync: Readable,
  child: ReturnType<typeof spawn>,
  timeoutMs: number,
): Promise<{ data?: number; message?: string }> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const done = (fn: () => void) => {
      clearTimeout(timer);
      sync.removeAllListeners("data");
      fn();
    };
    const timer = setTimeout(
      () =>
        done(() =>
          reject(
            new ShoalError(ContainerErrorCode.CreateFailed, `conmon gave no pid within ${timeoutMs} ms`),
          ),
        ),
      timeoutMs,
    );
    sync.setEncoding("utf8");
    sync.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl === -1) return;
      const line = buf.slice(0, nl);
      done(() => {
        try {
          resolve(JSON.parse(line) as { data?: number; message?: string });
        } catch (err) {
          reject(
            new ShoalError(
              ContainerErrorCode.CreateFailed,
              `conmon sent an unreadable sync message "${line}"`,
              { cause: err },
            ),
          );
        }
      });
    });
    sync.on("error", () => undefined);
    // The socket closes without a message when conmon failed before it could report.
    sync.on("end", () =>
      done(() =>
        reject(
          new ShoalError(
            ContainerErrorCode.CreateFailed,
            `conmon exited before reporting a pid (exit code ${child.exitCode ?? "unknown"})`,
          ),
        ),
      ),
    );
  });
}

/** The exit code conmon recorded, or undefined while the container runs (or conmon is writing). */
export async function readExitFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const n = Number.parseInt(text.trim(), 10);
  return Number.isNaN(n) ? undefined : n;
}
