export { CliErrorCode, ExitCode, reportError } from "./errors.js";
export type { CliIo, CommandContext, GlobalOptions, OutputFormat } from "./io.js";
export { type Column, printRows } from "./output.js";
export { buildProgram, cliVersion, runCli } from "./program.js";
