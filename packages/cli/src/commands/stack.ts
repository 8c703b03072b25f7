import { basename, dirname, resolve } from "node:path";
import { ShoalError } from "@shoal/base";
import { formatIssue, planStackFiles, renderPlan } from "@shoal/stack";
import { type Command, Option } from "commander";
import { CliErrorCode } from "../errors.js";
import type { CommandContext } from "../io.js";
import { registerNotAvailable } from "./groups.js";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The stack name used when none is given: the first file's directory, as Compose names projects,
 * reduced to what a service name may hold.
 */
export function defaultStackName(firstFile: string, cwd: string): string {
  const dir = basename(dirname(resolve(cwd, firstFile)));
  const cleaned = dir.toLowerCase().replace(/[^a-z0-9_-]+/g, "");
  return cleaned.replace(/^[-_]+/, "") || "stack";
}

/** `shoal stack …` — deploy and inspect Compose-format stack files. */
export function registerStack(program: Command, ctx: CommandContext): void {
  const stack = program
    .command("stack")
    .summary("deploy, list and remove stacks; print a stack file's normalized form")
    .description("Deploy and inspect stacks described by Compose files (docker stack compatible).");

  stack
    .command("config")
    .summary("print the services, networks, secrets and configs a stack file describes")
    .description(
      "Loads the stack files (merged in order), interpolates variables from the environment and the\n" +
        ".env beside the first file, validates them and prints what a deploy would create. Needs no cluster.",
    )
    .argument("[name]", "stack name used to scope object names (default: the first file's directory)")
    .addOption(
      new Option("-c, --compose-file <file>", "stack file; repeat to merge several").argParser(
        (value, previous: string[] | undefined) => collect(value, previous ?? []),
      ),
    )
    .addOption(new Option("--format <format>", "output format").choices(["yaml", "json"]))
    .action((name: string | undefined, opts: { composeFile?: string[]; format?: "yaml" | "json" }) => {
      const { io } = ctx;
      // `shoal --format json stack config …` works too; the global default (table) means YAML here.
      const format = opts.format ?? (ctx.globals().format === "json" ? "json" : "yaml");
      const files = opts.composeFile ?? [];
      if (files.length === 0) {
        throw new ShoalError(CliErrorCode.Usage, "no stack file given", { hint: "use -c FILE" });
      }
      const namespace = name ?? defaultStackName(files[0] as string, io.cwd);
      const plan = planStackFiles(files, namespace, { env: io.env, cwd: io.cwd });
      for (const w of plan.warnings) io.stderr.write(`warning: ${formatIssue(w)}\n`);
      io.stdout.write(renderPlan(plan, format));
    });

  for (const verb of ["deploy", "ls", "ps", "services", "rm"]) {
    registerNotAvailable(stack, verb, {
      hint: "`shoal stack config -c FILE` shows what a deploy would create",
    });
  }
}
