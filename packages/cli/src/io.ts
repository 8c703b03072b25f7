/**
 * Where a command's output goes. Commands never touch process.stdout or process.exit directly, so
 * tests run them in-process with captured streams.
 */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Output format chosen with the global `--format` option. */
export const OutputFormat = { Table: "table", Json: "json" } as const;
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];

/** The global options every command can read. */
export interface GlobalOptions {
  format: OutputFormat;
  debug: boolean;
  host?: string;
}

/** What a command registration gets: the streams and a way to read the global options. */
export interface CommandContext {
  io: CliIo;
  globals(): GlobalOptions;
}
