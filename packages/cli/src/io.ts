import { type Clock, systemClock } from "@shoal/base";
import type { Api } from "./api/connection.js";

/**
 * Where a command's output goes. Commands never touch process.stdout or process.exit directly, so
 * tests run them in-process with captured streams.
 */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Waiting for convergence polls on this clock; the real one unless a test passes another. */
  clock?: Clock;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    clock: systemClock,
  };
}

/** Output format chosen with the global `--format` option. */
export const OutputFormat = { Table: "table", Json: "json" } as const;
export type OutputFormat = (typeof OutputFormat)[keyof typeof OutputFormat];

/** The global options every command can read. */
export interface GlobalOptions {
  format: OutputFormat;
  debug: boolean;
  host?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** What a command registration gets: the streams, the global options, and the cluster. */
export interface CommandContext {
  io: CliIo;
  globals(): GlobalOptions;
  /** Opens the connection the global options name, runs `fn`, closes it. */
  withApi<T>(fn: (api: Api) => Promise<T>): Promise<T>;
}
