import { ShoalError } from "@shoal/base";
import type { Command } from "commander";
import { CliErrorCode } from "../errors.js";
import type { CommandContext } from "../io.js";

/** `shoal stack …` — deploy and inspect Compose-format stack files. */
export function registerStack(program: Command, _ctx: CommandContext): void {
  program
    .command("stack")
    .summary("deploy, list and remove stacks; print a stack file's normalized form (not yet available)")
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .helpOption(false)
    .action(() => {
      throw new ShoalError(CliErrorCode.NotAvailable, `"shoal stack" is not yet available in this build`);
    });
}
