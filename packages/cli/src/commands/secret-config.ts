import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ShoalError } from "@shoal/base";
import { Config, Secret } from "@shoal/proto";
import type { Command } from "commander";
import type { Api } from "../api/connection.js";
import { CliErrorCode } from "../errors.js";
import type { CommandContext } from "../io.js";
import { printRows } from "../output.js";
import { ago, collect, nowMs, parseLabels, printJson, say } from "./common.js";

type Kind = "secret" | "config";
type Item = Secret | Config;

const filters = () => ({ names: [], namePrefixes: [], ids: [], idPrefixes: [], labels: {} });

/** The Control calls of one kind, so secrets and configs share their commands. */
function calls(kind: Kind) {
  return kind === "secret"
    ? {
        create: async (api: Api, spec: Secret["spec"]) =>
          (await api.control("createSecret", { spec })).secret,
        list: async (api: Api) => (await api.control("listSecrets", { filters: filters() })).secrets,
        get: async (api: Api, id: string) => (await api.control("getSecret", { secretId: id })).secret,
        remove: async (api: Api, id: string) => void (await api.control("removeSecret", { secretId: id })),
        json: (o: Item) => Secret.toJSON(o as Secret),
      }
    : {
        create: async (api: Api, spec: Config["spec"]) =>
          (await api.control("createConfig", { spec })).config,
        list: async (api: Api) => (await api.control("listConfigs", { filters: filters() })).configs,
        get: async (api: Api, id: string) => (await api.control("getConfig", { configId: id })).config,
        remove: async (api: Api, id: string) => void (await api.control("removeConfig", { configId: id })),
        json: (o: Item) => Config.toJSON(o as Config),
      };
}

/** A secret's data never leaves the manager again: inspect and ls show metadata only. */
function withoutData(kind: Kind, json: unknown): unknown {
  const copy = json as { spec?: { data?: unknown } };
  if (kind === "secret" && copy.spec !== undefined) delete copy.spec.data;
  return copy;
}

/** `shoal secret …` and `shoal config …` (docker's verbs and columns). */
export function registerSecretOrConfig(program: Command, ctx: CommandContext, kind: Kind): void {
  const api = calls(kind);
  const group = program
    .command(kind)
    .summary(
      kind === "secret"
        ? "create, list, inspect and remove secrets"
        : "create, list, inspect and remove configs",
    )
    .description(
      kind === "secret"
        ? "Manage secrets: files services see under /run/secrets, sent only to nodes that run them."
        : "Manage configs: files placed into services' containers.",
    );

  group
    .command("create")
    .summary(`create a ${kind} from a file`)
    .argument("<name>", `${kind} name`)
    .argument("<file>", "file with the content")
    .option("-l, --label <key=value>", `${kind} label`, collect)
    .action(async (name: string, file: string, opts: { label?: string[] }) => {
      const path = resolve(ctx.io.cwd, file);
      let data: Uint8Array;
      try {
        data = await readFile(path);
      } catch (err) {
        throw new ShoalError(CliErrorCode.NotFound, `cannot read "${path}": ${(err as Error).message}`, {
          cause: err,
        });
      }
      const labels = parseLabels(opts.label, "--label");
      await ctx.withApi(async (conn) => {
        const created = await api.create(conn, { name, labels, data });
        if (ctx.globals().format === "json")
          printJson(ctx, created === undefined ? {} : withoutData(kind, api.json(created)));
        else ctx.io.stdout.write(`${created?.id ?? ""}\n`);
      });
    });

  group
    .command("ls")
    .alias("list")
    .summary(`list ${kind}s`)
    .option("-q, --quiet", "print only ids")
    .action(async (opts: { quiet?: boolean }) => {
      await ctx.withApi(async (conn) => {
        const items = [...(await api.list(conn))].sort((a, b) =>
          (a.spec?.name ?? "").localeCompare(b.spec?.name ?? ""),
        );
        if (opts.quiet === true) return void ctx.io.stdout.write(items.map((i) => `${i.id}\n`).join(""));
        const now = nowMs(ctx);
        printRows(
          ctx.io,
          ctx.globals().format,
          items,
          [
            { header: "ID", value: (i) => i.id },
            { header: "NAME", value: (i) => i.spec?.name ?? "" },
            { header: "CREATED", value: (i) => ago(i.meta?.createdAtMs, now) },
            { header: "UPDATED", value: (i) => ago(i.meta?.updatedAtMs, now) },
          ],
          (i) => withoutData(kind, api.json(i)),
        );
      });
    });

  group
    .command("inspect")
    .summary(`print ${kind}s as JSON (never a secret's data)`)
    .argument(`<${kind}...>`, "ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await ctx.withApi(async (conn) => {
        const out = [];
        for (const ref of refs) {
          const item = await api.get(conn, ref);
          if (item === undefined) throw new ShoalError(CliErrorCode.NotFound, `${kind} "${ref}" not found`);
          out.push(withoutData(kind, api.json(item)));
        }
        printJson(ctx, out);
      });
    });

  group
    .command("rm")
    .alias("remove")
    .summary(`remove ${kind}s`)
    .argument(`<${kind}...>`, "ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await ctx.withApi(async (conn) => {
        for (const ref of refs) {
          await api.remove(conn, ref);
          say(ctx, ref);
        }
      });
    });
}
