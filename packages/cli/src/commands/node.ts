import { enumValueName, Node, NodeAvailability, NodeRole, NodeState, Reachability } from "@shoal/proto";
import type { Command } from "commander";
import type { Api } from "../api/connection.js";
import { usageError } from "../errors.js";
import type { CommandContext } from "../io.js";
import { printRows } from "../output.js";
import { collect, parseLabels, printJson, say, shortId } from "./common.js";

export function emptyNodeFilters() {
  return { names: [], namePrefixes: [], ids: [], idPrefixes: [], labels: {}, roles: [], memberships: [] };
}

const AVAILABILITY: Record<string, NodeAvailability> = {
  active: NodeAvailability.ACTIVE,
  pause: NodeAvailability.PAUSE,
  drain: NodeAvailability.DRAIN,
};

const title = (s: string) => (s === "" ? "" : s[0]?.toUpperCase() + s.slice(1));

/** docker's MANAGER STATUS column: Leader, Reachable, Unreachable, or empty for workers. */
function managerStatus(node: Node): string {
  if (node.managerStatus === undefined) return "";
  if (node.managerStatus.leader) return "Leader";
  return title(enumValueName(Reachability, node.managerStatus.reachability));
}

async function getNode(api: Api, ref: string): Promise<Node> {
  const { node } = await api.control("getNode", { nodeId: ref });
  if (node === undefined) throw usageError(`node "${ref}": the manager returned nothing`);
  return node;
}

/** Read, change, write back with the version read (a concurrent change fails with a conflict). */
async function updateNode(api: Api, ref: string, change: (node: Node) => void): Promise<Node> {
  const node = await getNode(api, ref);
  if (node.spec === undefined) throw usageError(`node "${ref}" has no spec`);
  change(node);
  await api.control("updateNode", { nodeId: node.id, nodeVersion: node.meta?.version ?? 0, spec: node.spec });
  return node;
}

/** `shoal node …` — docker's node verbs, same table columns. */
export function registerNode(program: Command, ctx: CommandContext): void {
  const node = program
    .command("node")
    .summary("list, inspect, update, promote, demote and remove nodes")
    .description("Manage the cluster's nodes (docker node …).");

  node
    .command("ls")
    .alias("list")
    .summary("list nodes")
    .option("-q, --quiet", "print only ids")
    .action(async (opts: { quiet?: boolean }) => {
      await ctx.withApi(async (api) => {
        const { nodes } = await api.control("listNodes", { filters: emptyNodeFilters() });
        const sorted = [...nodes].sort(
          (a, b) =>
            (a.description?.hostname ?? "").localeCompare(b.description?.hostname ?? "") ||
            a.id.localeCompare(b.id),
        );
        if (opts.quiet === true) return void ctx.io.stdout.write(sorted.map((n) => `${n.id}\n`).join(""));
        printRows(
          ctx.io,
          ctx.globals().format,
          sorted,
          [
            { header: "ID", value: (n) => n.id },
            { header: "HOSTNAME", value: (n) => n.description?.hostname ?? "" },
            {
              header: "STATUS",
              value: (n) => title(enumValueName(NodeState, n.status?.state ?? NodeState.UNKNOWN)),
            },
            {
              header: "AVAILABILITY",
              value: (n) =>
                title(enumValueName(NodeAvailability, n.spec?.availability ?? NodeAvailability.ACTIVE)),
            },
            { header: "MANAGER STATUS", value: managerStatus },
            { header: "ENGINE VERSION", value: (n) => n.description?.engine?.engineVersion ?? "" },
          ],
          (n) => Node.toJSON(n),
        );
      });
    });

  node
    .command("inspect")
    .summary("print nodes as JSON")
    .argument("<node...>", "node ids, id prefixes or hostnames")
    .action(async (refs: string[]) => {
      await ctx.withApi(async (api) => {
        const nodes = [];
        for (const ref of refs) nodes.push(Node.toJSON(await getNode(api, ref)));
        printJson(ctx, nodes);
      });
    });

  node
    .command("update")
    .summary("change a node's availability or labels")
    .argument("<node>", "node id, id prefix or hostname")
    .option("--availability <availability>", "active, pause or drain")
    .option("--label-add <key=value>", "add or replace a node label", collect)
    .option("--label-rm <key>", "remove a node label", collect)
    .option("--role <role>", "worker or manager")
    .action(
      async (
        ref: string,
        opts: { availability?: string; labelAdd?: string[]; labelRm?: string[]; role?: string },
      ) => {
        let availability: NodeAvailability | undefined;
        if (opts.availability !== undefined) {
          availability = AVAILABILITY[opts.availability];
          if (availability === undefined)
            throw usageError(`--availability "${opts.availability}": must be one of active, pause, drain`);
        }
        if (opts.role !== undefined && opts.role !== "worker" && opts.role !== "manager") {
          throw usageError(`--role "${opts.role}": must be worker or manager`);
        }
        const add = parseLabels(opts.labelAdd, "--label-add");
        await ctx.withApi(async (api) => {
          const n = await updateNode(api, ref, (target) => {
            const spec = target.spec;
            if (spec === undefined) return;
            if (availability !== undefined) spec.availability = availability;
            if (opts.role !== undefined)
              spec.desiredRole = opts.role === "manager" ? NodeRole.MANAGER : NodeRole.WORKER;
            for (const key of opts.labelRm ?? []) delete spec.labels[key];
            Object.assign(spec.labels, add);
          });
          say(ctx, n.id);
        });
      },
    );

  for (const [verb, role, text] of [
    ["promote", NodeRole.MANAGER, "promoted to a manager in the cluster"],
    ["demote", NodeRole.WORKER, "demoted in the cluster"],
  ] as const) {
    node
      .command(verb)
      .summary(verb === "promote" ? "make workers managers" : "make managers workers")
      .argument("<node...>", "node ids, id prefixes or hostnames")
      .action(async (refs: string[]) => {
        await ctx.withApi(async (api) => {
          for (const ref of refs) {
            const n = await updateNode(api, ref, (target) => {
              if (target.spec !== undefined) target.spec.desiredRole = role;
            });
            say(ctx, `Node ${shortId(n.id)} ${text}.`);
          }
        });
      });
  }

  node
    .command("rm")
    .alias("remove")
    .summary("remove nodes from the cluster")
    .argument("<node...>", "node ids, id prefixes or hostnames")
    .option("-f, --force", "remove a node that is not down")
    .action(async (refs: string[], opts: { force?: boolean }) => {
      await ctx.withApi(async (api) => {
        for (const ref of refs) {
          await api.control("removeNode", { nodeId: ref, force: opts.force === true });
          say(ctx, ref);
        }
      });
    });
}
