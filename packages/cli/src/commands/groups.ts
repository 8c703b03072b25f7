import { ShoalError } from "@shoal/base";
import type { Command } from "commander";
import { CliErrorCode } from "../errors.js";

/**
 * The command groups of DESIGN.md §6 whose issues have not landed yet. They are listed in --help
 * so users see the shape of the tool, and refuse to run with a clear error: nothing pretends to
 * work. A group moves out of this table when its real implementation is registered.
 */
export const PLANNED_GROUPS: readonly { name: string; summary: string; usage: string }[] = [
  {
    name: "daemon",
    summary: "run the node daemon (agent, and manager on manager nodes)",
    usage: "[options]",
  },
  { name: "cluster", summary: "init, join, leave and inspect the cluster; join tokens", usage: "<command>" },
  { name: "node", summary: "list, inspect, update, promote, demote and remove nodes", usage: "<command>" },
  {
    name: "service",
    summary: "create, list, inspect, scale, update, roll back and remove services",
    usage: "<command>",
  },
  { name: "secret", summary: "manage secrets", usage: "<command>" },
  { name: "config", summary: "manage configs", usage: "<command>" },
  { name: "image", summary: "pull, import, list and remove images on this node", usage: "<command>" },
  { name: "events", summary: "stream cluster events", usage: "[options]" },
];

export function registerPlannedGroup(program: Command, group: (typeof PLANNED_GROUPS)[number]): void {
  program
    .command(group.name)
    .summary(`${group.summary} (not yet available)`)
    .description(`${group.summary}.\n\nNot yet available in this build of shoal.`)
    .usage(group.usage)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .helpOption(false)
    .action(() => {
      throw new ShoalError(
        CliErrorCode.NotAvailable,
        `"shoal ${group.name}" is not yet available in this build`,
        {
          hint: "see README.md for what this build of shoal can do",
        },
      );
    });
}
