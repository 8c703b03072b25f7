import { ShoalError } from "@shoal/base";

/** Error codes of the CLI itself. */
export const CliErrorCode = {
  /** The command group exists in the design but its issue has not landed yet. */
  NotAvailable: "CLI_NOT_AVAILABLE",
  /** The command line itself is wrong (unknown option, missing argument, bad value). */
  Usage: "CLI_USAGE",
  /** No daemon/manager answers at the endpoint (no socket, refused, TLS handshake failed). */
  Unreachable: "CLI_UNREACHABLE",
  /** The client certificate, key or root CA for `--host` is missing or unreadable. */
  TlsMaterial: "CLI_TLS_MATERIAL",
  /** The server answered with an error that carried no `shoal-code`. */
  Remote: "CLI_REMOTE",
  /** A service did not converge (a task failed or was rejected, or the wait timed out). */
  NotConverged: "CLI_NOT_CONVERGED",
  /** An object the command needs does not exist (a file, an external network, a stack). */
  NotFound: "CLI_NOT_FOUND",
  /** The cluster holds something in the way (a service of the same name outside the stack). */
  Conflict: "CLI_CONFLICT",
} as const;

/**
 * Exit codes. Stable: scripts switch on them (README "Errors and exit codes"). 1 is the catch-all;
 * 2 is a wrong command line (as commander and most CLIs).
 */
export const ExitCode = {
  Ok: 0,
  Failed: 1,
  Usage: 2,
  /** The daemon or manager could not be reached. */
  Unreachable: 3,
  /** The object named does not exist (or a prefix matched none). */
  NotFound: 4,
  /** The request conflicts with the cluster's state: exists already, changed meanwhile, in use. */
  Conflict: 5,
  /** The server refused the spec or a value (validation). */
  Invalid: 6,
  /** Not allowed: no or wrong certificate, wrong role. */
  Denied: 7,
  /** The cluster cannot do it now: no leader, not a manager, not in a cluster, quorum at risk. */
  Unavailable: 8,
  /** A service did not converge; each failed task's error was printed. */
  NotConverged: 9,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** `details.exitCode` on a ShoalError overrides the exit code derived from its code. */
function exitCodeOf(err: ShoalError): number {
  const fromDetails = (err.details as { exitCode?: unknown } | undefined)?.exitCode;
  if (typeof fromDetails === "number") return fromDetails;
  switch (err.code) {
    case CliErrorCode.Usage:
      return ExitCode.Usage;
    case CliErrorCode.Unreachable:
      return ExitCode.Unreachable;
    case CliErrorCode.NotFound:
      return ExitCode.NotFound;
    case CliErrorCode.Conflict:
      return ExitCode.Conflict;
    case CliErrorCode.NotConverged:
      return ExitCode.NotConverged;
    default:
      return ExitCode.Failed;
  }
}

/**
 * Prints `error: <what>` and, when known, a hint line; the stack only with --debug. Returns the
 * exit code to use.
 */
export function reportError(err: unknown, stderr: { write(text: string): unknown }, debug: boolean): number {
  if (ShoalError.is(err)) {
    stderr.write(`error: ${err.message}\n`);
    if (err.hint !== undefined) stderr.write(`hint: ${err.hint}\n`);
    if (debug) stderr.write(`code: ${err.code}\n${err.stack ?? ""}\n${causeChain(err)}`);
    return exitCodeOf(err);
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`error: ${message}\n`);
  if (debug && err instanceof Error) stderr.write(`${err.stack ?? ""}\n${causeChain(err)}`);
  else stderr.write("hint: this is a bug in shoal; run again with --debug and report the output\n");
  return ExitCode.Failed;
}

function causeChain(err: Error): string {
  let text = "";
  let cause = err.cause;
  while (cause instanceof Error) {
    text += `caused by: ${cause.stack ?? cause.message}\n`;
    cause = cause.cause;
  }
  return text;
}

export function usageError(message: string, hint?: string): ShoalError {
  return new ShoalError(CliErrorCode.Usage, message, hint === undefined ? {} : { hint });
}
