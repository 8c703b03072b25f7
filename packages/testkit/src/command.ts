import { spawn, spawnSync } from "node:child_process";
import { ShoalError } from "@shoal/base";
import { TestkitErrorCode } from "./errors.js";

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. Without it stdin is empty. */
  input?: string | undefined;
  /** Kill the command (SIGKILL) and throw TESTKIT_EXEC_TIMEOUT after this long. Default 30 s. */
  timeoutMs?: number | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when the command died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How long `host.exec` lets a command run when the options do not say. */
export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
/** How long one of the harness's own commands (ip, nft, …) may take before it counts as hung. */
export const HARNESS_COMMAND_TIMEOUT_MS = 15_000;

/** Runs a command to completion. A non-zero exit is a result, not an error: tests assert on it. */
export function execCommand(
  cmd: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => stdout.push(b));
    child.stderr.on("data", (b: Buffer) => stderr.push(b));
    // EPIPE when the command does not read its stdin is fine.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(
        new ShoalError(TestkitErrorCode.CommandFailed, `command "${cmd}" could not start`, { cause: err }),
      );
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = {
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        code,
        signal,
      };
      if (timedOut) {
        reject(
          new ShoalError(
            TestkitErrorCode.ExecTimeout,
            `command "${[cmd, ...args].join(" ")}" ran past its ${timeoutMs} ms limit`,
            {
              details: { ...result },
            },
          ),
        );
      } else {
        resolve(result);
      }
    });
  });
}

/** Runs one of the harness's own commands (ip, nft, …) and throws with its stderr when it fails. */
export async function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const result = await execCommand(cmd, args, { input, timeoutMs: HARNESS_COMMAND_TIMEOUT_MS });
  if (result.code !== 0) throw commandFailed(cmd, args, result.stderr, result.code);
  return result.stdout;
}

/**
 * The synchronous twin, for the process `exit` handler (no event loop left there) and for the
 * locked stale-cleanup section. Returns instead of throwing: teardown keeps going past failures.
 */
export function runSync(
  cmd: string,
  args: readonly string[],
): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: HARNESS_COMMAND_TIMEOUT_MS });
  return { ok: r.status === 0, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
}

export function commandFailed(
  cmd: string,
  args: readonly string[],
  stderr: string,
  code: number | null,
): ShoalError {
  return new ShoalError(
    TestkitErrorCode.CommandFailed,
    `command "${[cmd, ...args].join(" ")}" exited with ${code}: ${stderr.trim() || "no output"}`,
  );
}
