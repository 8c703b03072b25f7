import { readFileSync } from "node:fs";
import { ShoalError } from "@shoal/base";
import { Command, CommanderError, Option } from "commander";
import { resolveEndpoint } from "./api/endpoint.js";
import { registerCommands } from "./commands/registry.js";
import { CliErrorCode, ExitCode, reportError } from "./errors.js";
import type { CliIo, CommandContext, GlobalOptions } from "./io.js";

/** Works from src/ (tests) and dist/ (shipped): both sit one level below the package root. */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The `shoal` program. With `argv`, only the command it runs is registered (commands/registry.ts:
 * start-up time); without, every command.
 */
export async function buildProgram(io: CliIo, argv?: readonly string[]): Promise<Command> {
  const program = new Command("shoal");
  const ctx: CommandContext = {
    io,
    globals: () => {
      const opts = program.opts<GlobalOptions>();
      const out: GlobalOptions = { format: opts.format, debug: opts.debug };
      for (const key of ["host", "tlscacert", "tlscert", "tlskey"] as const) {
        if (opts[key] !== undefined) out[key] = opts[key];
      }
      return out;
    },
    withApi: async (fn) => {
      const endpoint = resolveEndpoint(ctx.globals(), io.env, io.cwd);
      // gRPC and the wire types load with the first call, not with `--version` or `daemon`.
      const { Connection } = await import("./api/connection.js");
      const connection = await Connection.open(endpoint);
      try {
        return await fn(connection);
      } finally {
        connection.close();
      }
    },
  };

  program
    .description("Shoal: a multi-node container orchestrator in the spirit of Docker Swarm mode")
    .version(cliVersion(), "-v, --version", "print the version")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--debug", "print stack traces and debug logs", false)
    .option(
      "-H, --host <address>",
      "manager address[:port] or unix:///path (env SHOAL_HOST; default: the admin socket)",
    )
    .option("--tlscacert <file>", "the cluster's root CA, pinned for --host (env SHOAL_TLS_CACERT)")
    .option("--tlscert <file>", "client certificate for --host (env SHOAL_TLS_CERT)")
    .option("--tlskey <file>", "client certificate key for --host (env SHOAL_TLS_KEY)")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // commander's own usage errors get our "error: … / hint:" shape.
      outputError: () => {},
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .helpCommand(true)
    .configureHelp({ sortSubcommands: true, helpWidth: 100 });

  await registerCommands(program, ctx, argv);
  return program;
}

/** Runs the CLI on `argv` (without node and script); resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = await buildProgram(io, argv);
  const debug = argv.includes("--debug");
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return ExitCode.Ok;
      if (err.code === "commander.help") return ExitCode.Ok;
      const message = err.message.replace(/^error: /, "");
      return reportError(
        new ShoalError(CliErrorCode.Usage, message, { hint: "run 'shoal --help' for usage" }),
        io.stderr,
        debug,
      );
    }
    return reportError(err, io.stderr, debug);
  }
}
