import { LOG_MAX_AGE_LABEL, LOG_MAX_BYTES_LABEL, logRetentionFor } from "@shoal/bus";
import { Cluster, NodeAvailability, NodeRole } from "@shoal/proto";
import type { Command } from "commander";
import type { Api } from "../api/connection.js";
import { EndpointEnv } from "../api/endpoint.js";
import { usageError } from "../errors.js";
import { parseCountFlag, parseDurationFlag } from "../flags/values.js";
import type { CommandContext } from "../io.js";
import { printJson, say } from "./common.js";
import { emptyNodeFilters } from "./node.js";

const AVAILABILITY: Record<string, NodeAvailability> = {
  active: NodeAvailability.ACTIVE,
  pause: NodeAvailability.PAUSE,
  drain: NodeAvailability.DRAIN,
};

/** The address a joining node dials: the leader's, else any manager's. */
async function managerAddress(api: Api): Promise<string> {
  const { nodes } = await api.control("listNodes", {
    filters: { ...emptyNodeFilters(), roles: [NodeRole.MANAGER] },
  });
  const leader = nodes.find((n) => n.managerStatus?.leader === true) ?? nodes[0];
  return leader?.managerStatus?.addr ?? "<manager address>";
}

function joinInstructions(role: "worker" | "manager", token: string, addr: string): string {
  return `To add a ${role} to this cluster, run the following command:\n\n    shoal cluster join --token ${token} ${addr}\n`;
}

/**
 * init, join and leave change the daemon this command runs beside: only its admin socket serves
 * NodeAdmin, so a TCP --host is refused up front rather than failing with UNIMPLEMENTED.
 */
function requireLocal(ctx: CommandContext, verb: string): void {
  const host = ctx.globals().host ?? ctx.io.env[EndpointEnv.Host];
  if (host !== undefined && host !== "" && !host.startsWith("unix://")) {
    throw usageError(
      `"shoal cluster ${verb}" works on the local daemon only, not on --host ${host}`,
      "run it on the node itself (as root, for the admin socket)",
    );
  }
}

/** `shoal cluster …` — docker's `swarm` verbs. init/join/leave go to the local daemon's admin socket. */
export function registerCluster(program: Command, ctx: CommandContext): void {
  const cluster = program
    .command("cluster")
    .summary("init, join, leave, inspect and update the cluster; join tokens")
    .description("Create or join a cluster and manage its settings (docker swarm …).");

  cluster
    .command("init")
    .summary("make this node the first manager of a new cluster")
    .option("--advertise-addr <addr:port>", "address other nodes reach this manager at")
    .option("--listen-addr <addr:port>", "address the cluster port listens on")
    .option("--force-new-cluster", "start a new cluster from this node's state, dropping the other managers")
    .action(async (opts: { advertiseAddr?: string; listenAddr?: string; forceNewCluster?: boolean }) => {
      requireLocal(ctx, "init");
      await ctx.withApi(async (api) => {
        const r = await api.admin("initCluster", {
          listenAddr: opts.listenAddr ?? "",
          advertiseAddr: opts.advertiseAddr ?? "",
          forceNewCluster: opts.forceNewCluster === true,
        });
        if (ctx.globals().format === "json") return printJson(ctx, r);
        ctx.io.stdout.write(
          `Cluster initialized: current node (${r.nodeId}) is now a manager.\n\n` +
            joinInstructions("worker", r.workerJoinToken, r.advertiseAddr) +
            "\nTo add a manager to this cluster, run 'shoal cluster join-token manager' and follow the instructions.\n",
        );
      });
    });

  cluster
    .command("join")
    .summary("join this node to a cluster as a worker or a manager")
    .argument("<addr:port>", "a manager of the cluster")
    .requiredOption("--token <token>", "join token (`shoal cluster join-token worker|manager` on a manager)")
    .option("--advertise-addr <addr:port>", "address other nodes reach this node at")
    .option("--listen-addr <addr:port>", "address the cluster port listens on")
    .option("--availability <availability>", "active, pause or drain", "active")
    .action(
      async (
        addr: string,
        opts: { token: string; advertiseAddr?: string; listenAddr?: string; availability: string },
      ) => {
        requireLocal(ctx, "join");
        const availability = AVAILABILITY[opts.availability];
        if (availability === undefined)
          throw usageError(`--availability "${opts.availability}": must be one of active, pause, drain`);
        await ctx.withApi(async (api) => {
          const r = await api.admin("joinCluster", {
            remoteAddr: addr,
            joinToken: opts.token,
            listenAddr: opts.listenAddr ?? "",
            advertiseAddr: opts.advertiseAddr ?? "",
            availability,
          });
          if (ctx.globals().format === "json") return printJson(ctx, r);
          say(ctx, `This node joined a cluster as a ${r.role === NodeRole.MANAGER ? "manager" : "worker"}.`);
        });
      },
    );

  cluster
    .command("join-token")
    .summary("print (or rotate) the token that joins a worker or a manager")
    .argument("<role>", "worker or manager")
    .option("--rotate", "replace the token; nodes that already joined are not affected")
    .option("-q, --quiet", "print only the token")
    .action(async (role: string, opts: { rotate?: boolean; quiet?: boolean }) => {
      if (role !== "worker" && role !== "manager")
        throw usageError(`role "${role}": must be worker or manager`);
      await ctx.withApi(async (api) => {
        const wire = role === "manager" ? NodeRole.MANAGER : NodeRole.WORKER;
        const tokens =
          opts.rotate === true
            ? (await api.control("rotateJoinToken", { role: wire })).joinTokens
            : (await api.control("getJoinTokens", {})).joinTokens;
        const token = (role === "manager" ? tokens?.manager : tokens?.worker) ?? "";
        if (ctx.globals().format === "json") return printJson(ctx, { role, token });
        if (opts.quiet === true) return void ctx.io.stdout.write(`${token}\n`);
        if (opts.rotate === true) ctx.io.stdout.write(`Successfully rotated ${role} join token.\n\n`);
        ctx.io.stdout.write(joinInstructions(role, token, await managerAddress(api)));
      });
    });

  cluster
    .command("leave")
    .summary("leave the cluster (on a manager, --force is needed if the quorum depends on it)")
    .option("-f, --force", "leave even if this breaks the managers' quorum")
    .action(async (opts: { force?: boolean }) => {
      requireLocal(ctx, "leave");
      await ctx.withApi(async (api) => {
        await api.admin("leaveCluster", { force: opts.force === true });
        say(ctx, "Node left the cluster.");
      });
    });

  cluster
    .command("inspect")
    .summary("print the cluster object (settings, root CA, join tokens are not shown)")
    .action(async () => {
      await ctx.withApi(async (api) => {
        const { cluster: c } = await api.control("getCluster", { clusterId: "" });
        printJson(ctx, c === undefined ? {} : withoutTokens(Cluster.toJSON(c)));
      });
    });

  cluster
    .command("update")
    .summary("change cluster settings")
    .option("--task-history-limit <n>", "tasks kept per slot after they end")
    .option("--cert-expiry <duration>", "lifetime of node certificates")
    .option("--dispatcher-heartbeat <duration>", "how often agents report")
    .option("--snapshot-interval <n>", "Raft entries between snapshots")
    .option("--log-max-age <duration>", "how long a service's log lines are kept (default 168h)")
    .option("--log-max-bytes <size>", "how much of a service's log lines is kept (default 1G)")
    .action(
      async (opts: {
        taskHistoryLimit?: string;
        certExpiry?: string;
        dispatcherHeartbeat?: string;
        snapshotInterval?: string;
        logMaxAge?: string;
        logMaxBytes?: string;
      }) => {
        // Cluster labels, which a service's labels of the same names override.
        const logLabels: Record<string, string> = {
          ...(opts.logMaxAge === undefined ? {} : { [LOG_MAX_AGE_LABEL]: opts.logMaxAge }),
          ...(opts.logMaxBytes === undefined ? {} : { [LOG_MAX_BYTES_LABEL]: opts.logMaxBytes }),
        };
        try {
          logRetentionFor(logLabels);
        } catch (err) {
          throw usageError((err as Error).message);
        }
        await ctx.withApi(async (api) => {
          const { cluster: c } = await api.control("getCluster", { clusterId: "" });
          if (c?.spec === undefined) throw usageError("the manager returned no cluster");
          const spec = structuredClone(c.spec);
          if (opts.taskHistoryLimit !== undefined) {
            spec.orchestration = {
              taskHistoryRetentionLimit: parseCountFlag("--task-history-limit", opts.taskHistoryLimit),
            };
          }
          if (opts.certExpiry !== undefined)
            spec.caConfig = { nodeCertExpiryMs: parseDurationFlag("--cert-expiry", opts.certExpiry) };
          if (opts.dispatcherHeartbeat !== undefined) {
            spec.dispatcher = {
              heartbeatPeriodMs: parseDurationFlag("--dispatcher-heartbeat", opts.dispatcherHeartbeat),
            };
          }
          if (opts.snapshotInterval !== undefined) {
            spec.raft = {
              keepOldSnapshots: 0,
              ...spec.raft,
              snapshotInterval: parseCountFlag("--snapshot-interval", opts.snapshotInterval),
            };
          }
          spec.labels = { ...spec.labels, ...logLabels };
          await api.control("updateCluster", { clusterId: c.id, clusterVersion: c.meta?.version ?? 0, spec });
          say(ctx, "Cluster updated.");
        });
      },
    );
}

/** The join tokens are secrets: `cluster inspect` leaves them out (`join-token` prints them). */
function withoutTokens(json: unknown): unknown {
  const copy = json as { rootCa?: { joinTokens?: unknown; caKey?: unknown } };
  if (copy.rootCa !== undefined) {
    delete copy.rootCa.joinTokens;
    delete copy.rootCa.caKey;
  }
  return copy;
}
