import { ShoalError } from "@shoal/base";
import { Service, type ServiceSpec, type ServiceStatus } from "@shoal/proto";
import type { Command } from "commander";
import type { Api } from "../api/connection.js";
import { CliErrorCode, usageError } from "../errors.js";
import {
  addServiceFlags,
  assertValidFlags,
  type ServiceFlags,
  specFromCreateFlags,
  specFromUpdateFlags,
} from "../flags/service-flags.js";
import { parseCountFlag } from "../flags/values.js";
import type { CommandContext } from "../io.js";
import { printRows } from "../output.js";
import { waitForService } from "../progress/wait.js";
import { withReferenceIds } from "../stack/plan.js";
import { formatPorts, printJson, say, shortId } from "./common.js";
import { registerServiceLogs } from "./logs.js";
import { printTasks } from "./tasks-table.js";

export function emptyServiceFilters() {
  return { names: [], namePrefixes: [], ids: [], idPrefixes: [], labels: {}, modes: [] };
}

export async function getService(api: Api, ref: string): Promise<Service> {
  const { service } = await api.control("getService", { serviceId: ref, insertDefaults: false });
  if (service === undefined) throw new ShoalError(CliErrorCode.NotFound, `service "${ref}" not found`);
  return service;
}

const MODE_NAMES = {
  replicated: "replicated",
  global: "global",
  replicatedJob: "replicated job",
  globalJob: "global job",
} as const;

function modeName(s: Service): string {
  return MODE_NAMES[s.spec?.mode?.$case ?? "replicated"];
}

/** docker's REPLICAS column: `2/3`, jobs `1/3 (2/4 completed)`, `(max 2 per node)`. */
function replicas(s: Service, status: ServiceStatus | undefined): string {
  const running = status?.runningTasks ?? 0;
  const desired = status?.desiredTasks ?? 0;
  let text = `${running}/${desired}`;
  const mode = s.spec?.mode;
  if (mode?.$case === "replicatedJob")
    text += ` (${status?.completedTasks ?? 0}/${mode.value.totalCompletions ?? mode.value.maxConcurrent ?? 1} completed)`;
  if (mode?.$case === "globalJob") text += ` (${status?.completedTasks ?? 0}/${desired} completed)`;
  const perNode = s.spec?.taskTemplate?.placement?.maxReplicasPerNode ?? 0;
  if (perNode > 0) text += ` (max ${perNode} per node)`;
  return text;
}

export async function printServices(
  ctx: CommandContext,
  api: Api,
  services: readonly Service[],
  quiet: boolean,
): Promise<void> {
  const sorted = [...services].sort((a, b) => (a.spec?.name ?? "").localeCompare(b.spec?.name ?? ""));
  if (quiet) return void ctx.io.stdout.write(sorted.map((s) => `${s.id}\n`).join(""));
  const { statuses } = await api.control("listServiceStatuses", { serviceIds: sorted.map((s) => s.id) });
  const byId = new Map(statuses.map((st) => [st.serviceId, st]));
  printRows(
    ctx.io,
    ctx.globals().format,
    sorted,
    [
      { header: "ID", value: (s) => shortId(s.id) },
      { header: "NAME", value: (s) => s.spec?.name ?? "" },
      { header: "MODE", value: modeName },
      { header: "REPLICAS", value: (s) => replicas(s, byId.get(s.id)) },
      { header: "IMAGE", value: (s) => s.spec?.taskTemplate?.container?.image ?? "" },
      {
        header: "PORTS",
        value: (s) =>
          formatPorts(s.endpoint?.ports.length ? s.endpoint.ports : (s.spec?.endpointSpec?.ports ?? [])),
      },
    ],
    (s) => ({ ...(Service.toJSON(s) as object), status: byId.get(s.id) ?? null }),
  );
}

interface WaitFlags {
  detach?: boolean;
  quiet?: boolean;
}

/** Waits unless --detach; silent with -q or --format json. */
export async function maybeWait(
  ctx: CommandContext,
  api: Api,
  serviceId: string,
  flags: WaitFlags,
  rollback = false,
): Promise<void> {
  if (flags.detach === true) return;
  await waitForService(api, serviceId, ctx.io, {
    show: flags.quiet !== true && ctx.globals().format !== "json",
    rollback,
  });
}

/** `--secret NAME`/`--config NAME` give names; the manager looks references up by id. */
async function withIds(api: Api, spec: ServiceSpec): Promise<ServiceSpec> {
  const c = spec.taskTemplate?.container;
  if (!c?.secrets.some((x) => x.secretId === "") && !c?.configs.some((x) => x.configId === "")) return spec;
  const filters = { names: [], namePrefixes: [], ids: [], idPrefixes: [], labels: {} };
  const [{ secrets }, { configs }] = await Promise.all([
    api.control("listSecrets", { filters }),
    api.control("listConfigs", { filters }),
  ]);
  return withReferenceIds(spec, secrets, configs);
}

/** `shoal service …` — docker's service verbs and flags. */
export function registerService(program: Command, ctx: CommandContext): void {
  const service = program
    .command("service")
    .summary("create, list, inspect, scale, update, roll back and remove services")
    .description("Manage services (docker service …).")
    // So that `create IMAGE COMMAND -flag` passes -flag to the command, as docker does.
    .enablePositionalOptions();

  addServiceFlags(
    service
      .command("create")
      .summary("create a service and wait for it to converge")
      .description(
        "Create a service. Options go before the image; what follows it is the command, as docker:\n  shoal service create --name web -p 8080:80 nginx:1.27 nginx -g 'daemon off;'",
      )
      .argument("<image>", "image to run")
      .argument("[command...]", "command and arguments")
      .passThroughOptions(),
    "create",
  ).action(async (image: string, args: string[], opts: ServiceFlags & WaitFlags) => {
    const spec = specFromCreateFlags(image, args, opts);
    assertValidFlags(spec);
    await ctx.withApi(async (api) => {
      const { service: created } = await api.control("createService", { spec: await withIds(api, spec) });
      if (created === undefined) throw usageError("the manager returned no service");
      if (ctx.globals().format === "json") printJson(ctx, Service.toJSON(created));
      else ctx.io.stdout.write(`${created.id}\n`);
      await maybeWait(ctx, api, created.id, opts);
    });
  });

  service
    .command("ls")
    .alias("list")
    .summary("list services")
    .option("-q, --quiet", "print only ids")
    .action(async (opts: { quiet?: boolean }) => {
      await ctx.withApi(async (api) => {
        const { services } = await api.control("listServices", { filters: emptyServiceFilters() });
        await printServices(ctx, api, services, opts.quiet === true);
      });
    });

  service
    .command("ps")
    .summary("list the tasks of services, with errors and pending reasons")
    .argument("<service...>", "service ids, id prefixes or names")
    .option("-q, --quiet", "print only task ids")
    .option("--no-trunc", "do not cut ids and errors")
    .action(async (refs: string[], opts: { quiet?: boolean; trunc?: boolean }) => {
      await ctx.withApi(async (api) => {
        const services = [];
        for (const ref of refs) services.push(await getService(api, ref));
        await printTasks(ctx, api, services, { quiet: opts.quiet === true, noTrunc: opts.trunc === false });
      });
    });

  service
    .command("inspect")
    .summary("print services as JSON")
    .argument("<service...>", "service ids, id prefixes or names")
    .option("--defaults", "fill in the defaults the cluster applies")
    .action(async (refs: string[], opts: { defaults?: boolean }) => {
      await ctx.withApi(async (api) => {
        const out = [];
        for (const ref of refs) {
          const { service: s } = await api.control("getService", {
            serviceId: ref,
            insertDefaults: opts.defaults === true,
          });
          if (s === undefined) throw new ShoalError(CliErrorCode.NotFound, `service "${ref}" not found`);
          out.push(Service.toJSON(s));
        }
        printJson(ctx, out);
      });
    });

  service
    .command("scale")
    .summary("set the replica count of services and wait for them")
    .argument("<service=replicas...>", "for example web=5 api=2")
    .option("-d, --detach", "return at once instead of waiting")
    .option("-q, --quiet", "no progress")
    .action(async (pairs: string[], opts: WaitFlags) => {
      const wanted = pairs.map((pair) => {
        const at = pair.lastIndexOf("=");
        if (at <= 0)
          throw usageError(
            `"${pair}": write it as SERVICE=REPLICAS`,
            "for example: shoal service scale web=5",
          );
        return { ref: pair.slice(0, at), replicas: parseCountFlag(pair.slice(0, at), pair.slice(at + 1)) };
      });
      await ctx.withApi(async (api) => {
        const ids: string[] = [];
        for (const { ref, replicas: n } of wanted) {
          const s = await getService(api, ref);
          const spec = structuredClone(s.spec);
          if (spec?.mode?.$case !== "replicated") {
            throw usageError(
              `service "${ref}" is not a replicated service and cannot be scaled`,
              "scale works on --mode replicated services",
            );
          }
          spec.mode.value.replicas = n;
          await api.control("updateService", {
            serviceId: s.id,
            serviceVersion: s.meta?.version ?? 0,
            spec,
            rollback: false,
          });
          say(ctx, `${spec.name} scaled to ${n}`);
          ids.push(s.id);
        }
        for (const id of ids) await maybeWait(ctx, api, id, opts);
      });
    });

  addServiceFlags(
    service
      .command("update")
      .summary("change a service and wait for the update to converge")
      .argument("<service>", "service id, id prefix or name"),
    "update",
  ).action(async (ref: string, opts: ServiceFlags & WaitFlags) => {
    await ctx.withApi(async (api) => {
      const s = await getService(api, ref);
      if (s.spec === undefined) throw usageError(`service "${ref}" has no spec`);
      const rollback = opts.rollback === true;
      const spec = rollback ? s.spec : specFromUpdateFlags(s.spec, opts);
      if (!rollback) assertValidFlags(spec);
      await api.control("updateService", {
        serviceId: s.id,
        serviceVersion: s.meta?.version ?? 0,
        spec: await withIds(api, spec),
        rollback,
      });
      say(ctx, s.spec.name);
      await maybeWait(ctx, api, s.id, opts, rollback);
    });
  });

  service
    .command("rollback")
    .summary("go back to a service's previous spec")
    .argument("<service>", "service id, id prefix or name")
    .option("-d, --detach", "return at once instead of waiting")
    .option("-q, --quiet", "no progress")
    .action(async (ref: string, opts: WaitFlags) => {
      await ctx.withApi(async (api) => {
        const s = await getService(api, ref);
        await api.control("updateService", {
          serviceId: s.id,
          serviceVersion: s.meta?.version ?? 0,
          rollback: true,
        });
        say(ctx, s.spec?.name ?? s.id);
        await maybeWait(ctx, api, s.id, opts, true);
      });
    });

  service
    .command("rm")
    .alias("remove")
    .summary("remove services")
    .argument("<service...>", "service ids, id prefixes or names")
    .action(async (refs: string[]) => {
      await ctx.withApi(async (api) => {
        for (const ref of refs) {
          await api.control("removeService", { serviceId: ref });
          say(ctx, ref);
        }
      });
    });

  registerServiceLogs(service, ctx);
}
