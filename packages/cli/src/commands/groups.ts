import { ShoalError } from "@shoal/base";
import type { Command } from "commander";
import { CliErrorCode } from "../errors.js";

/**
 * The command groups of DESIGN.md §6 whose issues have not landed yet. They are listed in --help
 * so users see the shape of the tool, and refuse to run with a clear error: nothing pretends to
 * work. A group moves out of this table when its real implementation is registered.
 */
export const PLANNED_GROUPS: readonly { name: string; summary: string; usage: string }[] = [];

/**
 * Registers a command that is listed but refuses to run: exit code 1, `"shoal <path>" is not yet
 * available`, and a hint. Used for the planned groups and for verbs of groups that exist in part.
 */
export function registerNotAvailable(
  parent: Command,
  name: string,
  options: { summary?: string; description?: string; usage?: string; hint: string },
): Command {
  const path = [...ancestry(parent), name].join(" ");
  const summary =
    options.summary === undefined ? "(not yet available)" : `${options.summary} (not yet available)`;
  const command = parent.command(name).summary(summary);
  if (options.description !== undefined) command.description(options.description);
  if (options.usage !== undefined) command.usage(options.usage);
  return command
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .helpOption(false)
    .action(() => {
      throw new ShoalError(CliErrorCode.NotAvailable, `"shoal ${path}" is not yet available in this build`, {
        hint: options.hint,
      });
    });
}

/** Command names from below the root program down to `command` ("stack" for `shoal stack`). */
function ancestry(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent != null; c = c.parent) names.unshift(c.name());
  return names;
}

export function registerPlannedGroup(program: Command, group: (typeof PLANNED_GROUPS)[number]): void {
  registerNotAvailable(program, group.name, {
    summary: group.summary,
    description: `${group.summary}.\n\nNot yet available in this build of shoal.`,
    usage: group.usage,
    hint: "see README.md for what this build of shoal can do",
  });
}
