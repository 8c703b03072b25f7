import type { Command } from "commander";
import type { CommandContext } from "../io.js";
import { PLANNED_GROUPS, registerPlannedGroup } from "./groups.js";

/**
 * The top-level commands, each loaded only when it runs: a command module pulls in what its
 * actions need (the stack loader with YAML and JSON Schema, gRPC and the wire types, the progress
 * renderer), and `shoal daemon` keeps whatever it loads for the life of the process. Loading one
 * group instead of all of them is most of `shoal`'s start-up time and several MiB of the daemon's
 * memory. A name that is not here (a typo, `--help`, no command at all) loads every group, so
 * help lists them all and commander can suggest the one meant.
 */
const COMMANDS: Readonly<Record<string, (program: Command, ctx: CommandContext) => Promise<void>>> = {
  cluster: async (p, ctx) => (await import("./cluster.js")).registerCluster(p, ctx),
  daemon: async (p, ctx) => (await import("./daemon.js")).registerDaemon(p, ctx),
  events: async (p, ctx) => (await import("./logs.js")).registerEvents(p, ctx),
  network: async (p, ctx) => (await import("./network.js")).registerNetwork(p, ctx),
  node: async (p, ctx) => (await import("./node.js")).registerNode(p, ctx),
  service: async (p, ctx) => (await import("./service.js")).registerService(p, ctx),
  stack: async (p, ctx) => (await import("./stack.js")).registerStack(p, ctx),
  secret: async (p, ctx) => (await import("./secret-config.js")).registerSecretOrConfig(p, ctx, "secret"),
  config: async (p, ctx) => (await import("./secret-config.js")).registerSecretOrConfig(p, ctx, "config"),
  image: async (p, ctx) => (await import("./image.js")).registerImage(p, ctx),
};

/** Global options that take a value (`--format json`), so their value is not read as the command. */
const VALUE_OPTIONS = new Set(["--format", "-H", "--host", "--tlscacert", "--tlscert", "--tlskey"]);

/**
 * The top-level command `argv` runs (`service` for `--format json service ls`, `node` for
 * `help node`), or undefined when it names none this table knows.
 */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") return undefined;
    if (arg.startsWith("-")) {
      if (VALUE_OPTIONS.has(arg)) i++;
      continue;
    }
    if (arg === "help") return commandOf(argv.slice(i + 1));
    return Object.hasOwn(COMMANDS, arg) ? arg : undefined;
  }
  return undefined;
}

function isVersionOnly(argv: readonly string[]): boolean {
  const words = argv.filter((a, i) => !a.startsWith("-") && !VALUE_OPTIONS.has(argv[i - 1] ?? ""));
  return words.length === 0 && (argv.includes("--version") || argv.includes("-v"));
}

/** Registers the command `argv` runs, or every command when it names none (see COMMANDS). */
export async function registerCommands(
  program: Command,
  ctx: CommandContext,
  argv: readonly string[] | undefined,
): Promise<void> {
  const only = argv === undefined ? undefined : commandOf(argv);
  // `shoal --version` (with no command word) prints the version before any command would run.
  if (argv !== undefined && only === undefined && isVersionOnly(argv)) return;
  if (only !== undefined) {
    await COMMANDS[only]?.(program, ctx);
    return;
  }
  for (const register of Object.values(COMMANDS)) await register(program, ctx);
  for (const group of PLANNED_GROUPS) registerPlannedGroup(program, group);
}
