import { ShoalError } from "@shoal/base";

/** Error codes of the CLI itself. */
export const CliErrorCode = {
  /** The command group exists in the design but its issue has not landed yet. */
  NotAvailable: "CLI_NOT_AVAILABLE",
  /** The command line itself is wrong (unknown option, missing argument, bad value). */
  Usage: "CLI_USAGE",
} as const;

/** Exit codes: 1 for a failed command, 2 for a wrong command line (as commander and most CLIs). */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2 } as const;

/**
 * Prints `error: <what>` and, when known, a hint line; the stack only with --debug. Returns the
 * exit code to use.
 */
export function reportError(err: unknown, stderr: { write(text: string): unknown }, debug: boolean): number {
  if (ShoalError.is(err)) {
    stderr.write(`error: ${err.message}\n`);
    if (err.hint !== undefined) stderr.write(`hint: ${err.hint}\n`);
    if (debug) stderr.write(`${err.stack ?? ""}\n${causeChain(err)}`);
    return err.code === CliErrorCode.Usage ? ExitCode.Usage : ExitCode.Failed;
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
