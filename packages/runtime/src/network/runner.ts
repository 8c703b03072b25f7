import { execFile } from "node:child_process";
import { ShoalError } from "@shoal/base";
import { NetworkErrorCode } from "./errors.js";

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; 0 when absent (runners in unit tests may leave it out). */
  code?: number;
}

/**
 * Runs the node's network commands (ip, iptables-restore, conntrack, sysctl). Production runs them
 * as they are; a test host wraps them with `nsenter --net=…` so one process can act for a node
 * living in another network namespace, without leaving the root mount namespace (which would
 * hide the /run/netns bind mounts from the next process).
 */
export interface CommandRunner {
  run(
    cmd: string,
    args: readonly string[],
    options?: { input?: string; allowFailure?: boolean },
  ): Promise<RunResult>;
}

function execCommand(
  file: string,
  args: readonly string[],
  input: string | undefined,
): Promise<RunResult & { code: number }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve({ stdout, stderr: err !== null && stderr === "" ? err.message : stderr, code });
    });
    if (input !== undefined) {
      // A command that exits before reading all its input (iptables-restore stopping at a bad line
      // of a large rule set) closes the pipe: the EPIPE would otherwise be an uncaught exception
      // that takes the whole daemon down. The exit code still tells the caller what happened.
      child.stdin?.on("error", () => {});
      child.stdin?.end(input);
    }
  });
}

export function createRunner(netnsPath?: string): CommandRunner {
  return {
    async run(cmd, args, options = {}) {
      const [file, argv] =
        netnsPath === undefined ? [cmd, args] : ["nsenter", [`--net=${netnsPath}`, "--", cmd, ...args]];
      const result = await execCommand(file, argv, options.input);
      if (result.code !== 0 && options.allowFailure !== true) {
        throw new ShoalError(
          NetworkErrorCode.CommandFailed,
          `command "${cmd} ${args.join(" ")}" failed: ${result.stderr.trim()}`,
        );
      }
      return result;
    },
  };
}
