import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { ShoalError } from "@shoal/base";
import {
  formatIssue,
  planStackFiles,
  readStackFiles,
  renderPlan,
  STACK_NAMESPACE_LABEL,
  type StackPlan,
} from "@shoal/stack";
import { type Command, Option } from "commander";
import type { Api } from "../api/connection.js";
import { CliErrorCode } from "../errors.js";
import type { CommandContext } from "../io.js";
import { printRows } from "../output.js";
import {
  type ClusterObjects,
  describeStep,
  planStackDeploy,
  planStackRemove,
  type StackStep,
  withReferenceIds,
} from "../stack/plan.js";
import { say } from "./common.js";
import { emptyServiceFilters, maybeWait, printServices } from "./service.js";
import { printTasks } from "./tasks-table.js";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const composeFileOption = () =>
  new Option("-c, --compose-file <file>", "stack file; repeat to merge several").argParser(
    (value, previous: string[] | undefined) => collect(value, previous ?? []),
  );

function needFiles(files: string[] | undefined): string[] {
  if (files === undefined || files.length === 0) {
    throw new ShoalError(CliErrorCode.Usage, "no stack file given", { hint: "use -c FILE" });
  }
  return files;
}

const objectFilters = (labels: Record<string, string> = {}) => ({
  names: [],
  namePrefixes: [],
  ids: [],
  idPrefixes: [],
  labels,
});

async function clusterObjects(api: Api): Promise<ClusterObjects> {
  const [services, networks, secrets, configs] = await Promise.all([
    api.control("listServices", { filters: emptyServiceFilters() }),
    api.control("listNetworks", { filters: objectFilters() }),
    api.control("listSecrets", { filters: objectFilters() }),
    api.control("listConfigs", { filters: objectFilters() }),
  ]);
  return {
    services: services.services,
    networks: networks.networks,
    secrets: secrets.secrets,
    configs: configs.configs,
  };
}

async function stackServices(api: Api, namespace: string) {
  const { services } = await api.control("listServices", {
    filters: { ...emptyServiceFilters(), labels: { [STACK_NAMESPACE_LABEL]: namespace } },
  });
  if (services.length === 0) {
    throw new ShoalError(CliErrorCode.NotFound, `nothing found in stack: ${namespace}`, {
      hint: "`shoal stack ls` lists the stacks",
    });
  }
  return services;
}

/** Runs one step; returns the id of a service that was created or updated (to wait for). */
async function runStep(api: Api, step: StackStep): Promise<string | undefined> {
  switch (step.kind) {
    case "create-network":
      await api.control("createNetwork", { spec: step.spec });
      return undefined;
    case "create-secret":
      await api.control("createSecret", { spec: step.spec });
      return undefined;
    case "create-config":
      await api.control("createConfig", { spec: step.spec });
      return undefined;
    case "create-service":
      return (await api.control("createService", { spec: step.spec })).service?.id;
    case "update-service":
      await api.control("updateService", {
        serviceId: step.id,
        serviceVersion: step.version,
        spec: step.spec,
        rollback: false,
      });
      return step.id;
    case "remove-service":
      await api.control("removeService", { serviceId: step.id });
      return undefined;
    case "remove-network":
      await api.control("removeNetwork", { networkId: step.id });
      return undefined;
    case "remove-secret":
      await api.control("removeSecret", { secretId: step.id });
      return undefined;
    case "remove-config":
      await api.control("removeConfig", { configId: step.id });
      return undefined;
  }
}

/** How long `stack rm` waits for the removed services' tasks to stop using a secret, config or network. */
const IN_USE_WAIT_MS = 120_000;

/**
 * A removal step of `stack rm`, retried while the cluster is catching up: a secret, config or
 * network stays in use until the removed services' tasks have stopped (the store refuses it
 * before), and a service removal can meet a concurrent write of one of its tasks.
 */
async function runRemoveStep(api: Api, step: StackStep): Promise<void> {
  const deadline = Date.now() + IN_USE_WAIT_MS;
  for (;;) {
    try {
      await runStep(api, step);
      return;
    } catch (err) {
      const code = ShoalError.is(err) ? err.code : "";
      const retry = code.endsWith("_IN_USE") || code.endsWith("_VERSION_CONFLICT");
      if (!retry || Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

function readBytes(path: string): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch {
    // readStackFiles reports every unreadable file together, by name.
    return undefined;
  }
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
    .addOption(composeFileOption())
    .addOption(new Option("--format <format>", "output format").choices(["yaml", "json"]))
    .action((name: string | undefined, opts: { composeFile?: string[]; format?: "yaml" | "json" }) => {
      const { io } = ctx;
      // `shoal --format json stack config …` works too; the global default (table) means YAML here.
      const format = opts.format ?? (ctx.globals().format === "json" ? "json" : "yaml");
      const files = needFiles(opts.composeFile);
      const namespace = name ?? defaultStackName(files[0] as string, io.cwd);
      const plan = planStackFiles(files, namespace, { env: io.env, cwd: io.cwd });
      for (const w of plan.warnings) io.stderr.write(`warning: ${formatIssue(w)}\n`);
      io.stdout.write(renderPlan(plan, format));
    });

  stack
    .command("deploy")
    .summary("create or update a stack's services, networks, secrets and configs")
    .description(
      "Deploys the stack files (merged in order): creates the stack's networks, secrets and configs,\n" +
        "then its services; a second deploy updates only the services whose spec changed. Waits for\n" +
        "every created or updated service to converge unless --detach.",
    )
    .argument("<name>", "stack name")
    .addOption(composeFileOption())
    .option("--prune", "remove the stack's services that are no longer in the files")
    .option("-d, --detach", "return at once instead of waiting for the services")
    .option("-q, --quiet", "no progress")
    .action(
      async (
        name: string,
        opts: { composeFile?: string[]; prune?: boolean; detach?: boolean; quiet?: boolean },
      ) => {
        const { io } = ctx;
        const files = needFiles(opts.composeFile);
        const loaded = planStackFiles(files, name, { env: io.env, cwd: io.cwd });
        for (const w of loaded.warnings) io.stderr.write(`warning: ${formatIssue(w)}\n`);
        const plan: StackPlan = readStackFiles(loaded, readBytes, (key) => io.env[key]);
        await ctx.withApi(async (api) => {
          const steps = planStackDeploy(plan, await clusterObjects(api), { prune: opts.prune === true });
          const changed: { id: string; name: string }[] = [];
          let refs: ClusterObjects | undefined;
          for (const step of steps) {
            say(ctx, describeStep(step));
            if (step.kind === "create-service" || step.kind === "update-service") {
              // Secrets and configs are created by now; services reference them by id.
              refs ??= await clusterObjects(api);
              step.spec = withReferenceIds(step.spec, refs.secrets, refs.configs);
            }
            const id = await runStep(api, step);
            if (id !== undefined) changed.push({ id, name: step.name });
          }
          if (steps.length === 0) say(ctx, `Stack ${name} is up to date.`);
          // Each changed service rolls with its own update config; the deploy waits for every one
          // of them and fails (exit code 9) if any paused or was rolled back, naming each.
          const failed: ShoalError[] = [];
          for (const service of changed) {
            if (opts.detach !== true && opts.quiet !== true) say(ctx, `${service.name}`);
            try {
              await maybeWait(ctx, api, service.id, opts);
            } catch (err) {
              if (!ShoalError.is(err, CliErrorCode.NotConverged) || changed.length === 1) throw err;
              failed.push(err);
            }
          }
          if (failed.length > 0) {
            throw new ShoalError(
              CliErrorCode.NotConverged,
              `stack "${name}": ${failed.length} of ${changed.length} services did not converge:\n${failed.map((e) => `  ${e.message}`).join("\n")}`,
              failed[0]?.hint === undefined ? {} : { hint: failed[0].hint },
            );
          }
        });
      },
    );

  stack
    .command("ls")
    .alias("list")
    .summary("list stacks")
    .action(async () => {
      await ctx.withApi(async (api) => {
        const { services } = await api.control("listServices", { filters: emptyServiceFilters() });
        const counts = new Map<string, number>();
        for (const s of services) {
          const ns = s.spec?.labels[STACK_NAMESPACE_LABEL];
          if (ns !== undefined) counts.set(ns, (counts.get(ns) ?? 0) + 1);
        }
        const rows = [...counts.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([stackName, n]) => ({ name: stackName, services: n }));
        printRows(ctx.io, ctx.globals().format, rows, [
          { header: "NAME", value: (r) => r.name },
          { header: "SERVICES", value: (r) => String(r.services) },
        ]);
      });
    });

  stack
    .command("ps")
    .summary("list the tasks of a stack")
    .argument("<name>", "stack name")
    .option("-q, --quiet", "print only task ids")
    .option("--no-trunc", "do not cut ids and errors")
    .action(async (name: string, opts: { quiet?: boolean; trunc?: boolean }) => {
      await ctx.withApi(async (api) => {
        await printTasks(ctx, api, await stackServices(api, name), {
          quiet: opts.quiet === true,
          noTrunc: opts.trunc === false,
        });
      });
    });

  stack
    .command("services")
    .summary("list the services of a stack")
    .argument("<name>", "stack name")
    .option("-q, --quiet", "print only ids")
    .action(async (name: string, opts: { quiet?: boolean }) => {
      await ctx.withApi(async (api) => {
        await printServices(ctx, api, await stackServices(api, name), opts.quiet === true);
      });
    });

  stack
    .command("rm")
    .alias("remove")
    .summary("remove stacks: everything a deploy made, and nothing else")
    .argument("<name...>", "stack names")
    .action(async (names: string[]) => {
      await ctx.withApi(async (api) => {
        for (const name of names) {
          const steps = planStackRemove(name, await clusterObjects(api));
          if (steps.length === 0) {
            throw new ShoalError(CliErrorCode.NotFound, `nothing found in stack: ${name}`, {
              hint: "`shoal stack ls` lists the stacks",
            });
          }
          for (const step of steps) {
            say(ctx, describeStep(step));
            await runRemoveStep(api, step);
          }
        }
      });
    });
}
