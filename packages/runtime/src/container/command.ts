import { spawn } from "node:child_process";
import { ShoalError } from "@shoal/base";
import { ContainerErrorCode } from "./errors.js";

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a helper binary (runc, mount, umount) and collects its output. Never throws for a non-zero
 * exit: callers decide, since "already gone" is often success for them.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; maxOutputBytes?: number; cwd?: string } = {},
): Promise<CommandResult> {
  const max = opts.maxOutputBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: opts.env ?? process.env,
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < max) stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < max) stderr += d;
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, opts.timeoutMs);
    child.on("error", (err) => {
      if (timer !== undefined) clearTimeout(timer);
      reject(
        new ShoalError(
          ContainerErrorCode.CommandFailed,
          `command "${file}" could not start: ${err.message}`,
          { cause: err },
        ),
      );
    });
    child.on("close", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ exitCode: code ?? (signal !== null ? 128 : -1), stdout, stderr, timedOut });
    });
  });
}

/** Like runCommand, but a non-zero exit is an error carrying the tool's own message. */
export async function runChecked(
  file: string,
  args: readonly string[],
  what: string,
  opts: { timeoutMs?: number } = {},
): Promise<string> {
  const r = await runCommand(file, args, opts);
  if (r.exitCode !== 0) {
    throw new ShoalError(
      ContainerErrorCode.CommandFailed,
      `${what} failed: ${cleanToolMessage(r.stderr || r.stdout) || `exit code ${r.exitCode}`}`,
      {
        details: { file, args, exitCode: r.exitCode },
      },
    );
  }
  return r.stdout;
}

/** runc prints logrus lines (`time="…" level=error msg="…"`); keep only the message. */
export function cleanToolMessage(text: string): string {
  const msgs = [...text.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\"/g, '"'));
  return (msgs.length > 0 ? msgs.join("; ") : text).trim();
}
