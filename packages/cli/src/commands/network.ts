import { ShoalError } from "@shoal/base";
import { Network } from "@shoal/proto";
import type { Command } from "commander";
import { CliErrorCode } from "../errors.js";
import type { CommandContext } from "../io.js";
import { printRows } from "../output.js";
import { collect, printJson, say } from "./common.js";
import { type NetworkCreateFlags, networkRow, networkSpecFromFlags, sortNetworks } from "./network-spec.js";

const filters = () => ({ names: [], namePrefixes: [], ids: [], idPrefixes: [], labels: {} });

/** `shoal network ls | inspect | create | rm` (docker's verbs and columns) over the control API. */
export function registerNetwork(program: Command, ctx: CommandContext): void {
  const group = program
    .command("network")
    .summary("create, list, inspect and remove overlay networks")
    .description(
      "Manage networks: overlays (VXLAN) spanning the nodes that run their tasks, with service VIPs and DNS names.",
    );

  group
    .command("create")
    .summary("create an overlay network")
    .argument("<name>", "network name")
    .option("-d, --driver <driver>", 'network driver (only "overlay")', "overlay")
    .option("--subnet <cidr>", "IPv4 subnet (default: the next free one of the cluster's pool)", collect)
    .option("--gateway <ip>", "gateway address in the subnet (default: its first address)", collect)
    .option("--attachable", "let standalone containers attach")
    .option("--internal", "no access from the network to the outside")
    .option("-l, --label <key=value>", "network label", collect)
    .action(async (name: string, flags: NetworkCreateFlags) => {
      const spec = networkSpecFromFlags(name, flags);
      await ctx.withApi(async (api) => {
        const { network } = await api.control("createNetwork", { spec });
        if (ctx.globals().format === "json")
          printJson(ctx, network === undefined ? {} : Network.toJSON(network));
        else ctx.io.stdout.write(`${network?.id ?? ""}\n`);
      });
    });

  group
    .command("ls")
    .alias("list")
    .summary("list networks")
    .option("-q, --quiet", "print only ids")
    .option("--no-trunc", "do not truncate ids")
    .action(async (opts: { quiet?: boolean; trunc?: boolean }) => {
      await ctx.withApi(async (api) => {
        const { networks } = await api.control("listNetworks", { filters: filters() });
        const sorted = sortNetworks(networks);
        if (opts.quiet === true) return void ctx.io.stdout.write(sorted.map((n) => `${n.id}\n`).join(""));
        const row = (n: Network) => networkRow(n, { noTrunc: opts.trunc === false });
        printRows(
          ctx.io,
          ctx.globals().format,
          sorted,
          [
            { header: "NETWORK ID", value: (n) => row(n).id },
            { header: "NAME", value: (n) => row(n).name },
            { header: "DRIVER", value: (n) => row(n).driver },
            { header: "SCOPE", value: (n) => row(n).scope },
          ],
          (n) => Network.toJSON(n),
        );
      });
    });

  group
    .command("inspect")
    .summary("print networks as JSON")
    .argument("<network...>", "ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await ctx.withApi(async (api) => {
        const out = [];
        for (const ref of refs) {
          const { network } = await api.control("getNetwork", { networkId: ref });
          if (network === undefined)
            throw new ShoalError(CliErrorCode.NotFound, `network "${ref}" not found`);
          out.push(Network.toJSON(network));
        }
        printJson(ctx, out);
      });
    });

  group
    .command("rm")
    .alias("remove")
    .summary("remove networks no service uses")
    .argument("<network...>", "ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await ctx.withApi(async (api) => {
        for (const ref of refs) {
          await api.control("removeNetwork", { networkId: ref });
          say(ctx, ref);
        }
      });
    });
}
