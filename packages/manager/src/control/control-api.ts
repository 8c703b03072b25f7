// The control API (proto `Control`; swarmkit's manager/controlapi): CRUD of the cluster's
// objects for the CLI. Specs are validated with @shoal/proto (PROTO_INVALID_SPEC with every
// issue and its field path in `details.issues`); updates name the version they read (a stale
// one fails with STORE_VERSION_CONFLICT); a service keeps its previous spec for rollback;
// removing a service shuts its tasks down; a secret/config/network in use is refused naming the
// services. Reads come from this manager's replica; writes go through the store, which forwards
// them to the leader on a follower. Secret data and the sealed CA key never leave the manager.
import type * as grpc from "@grpc/grpc-js";
import { type Logger, newId, ShoalError, silentLogger } from "@shoal/base";
import { allocateNetwork, trivialEndpoint, withAllocation } from "@shoal/orchestrator";
import { rotateJoinToken } from "@shoal/pki";
import {
  assertValidClusterSpec,
  assertValidConfigSpec,
  assertValidNetworkSpec,
  assertValidNodeSpec,
  assertValidSecretSpec,
  assertValidServiceSpec,
  type Cluster,
  Config,
  type JoinTokens,
  Network,
  type Node,
  NodeRole,
  NodeState,
  Secret,
  Service,
  type ServiceSpec,
  serviceModeKind,
  type Task,
  TaskState,
  UpdateState,
  type WatchMessage,
  type WatchRequest,
  withServiceDefaults,
} from "@shoal/proto";
import { type Kind, type ReadTx, type Store, StoreErrorCode, type WriteTx } from "@shoal/store";
import { ManagerErrorCode } from "../errors.js";
import type { QuorumCheck } from "../quorum-safety.js";
import { type RpcContext, streamHandler, unaryHandler } from "../rpc-handler.js";
import { type CommonFilters, matchesCommon } from "./list-filters.js";
import { serviceStatus } from "./service-statuses.js";
import { redact, toWatchMessage, wantsEvent } from "./watch-selectors.js";

/** Store failures of a transaction that met a concurrent change when applied: built again, it goes through. */
const LOST_RACE_CODES: ReadonlySet<string> = new Set([
  StoreErrorCode.NotFound,
  StoreErrorCode.VersionConflict,
]);
/** How often RemoveService rebuilds its transactions before it gives up. */
const REMOVE_SERVICE_ATTEMPTS = 5;

export interface ControlApiOptions {
  store: Store;
  logger?: Logger;
  /**
   * Quorum safety of demoting or removing a manager, from the Raft leader's view. Without it
   * (a one-manager test) demotion and removal of managers are refused.
   */
  checkManagerChange?: (nodeId: string, change: "demote" | "remove") => QuorumCheck;
  /**
   * A node as this manager answers it: the manager fills `managerStatus.leader` and
   * `reachability` from its Raft member (Swarm's controlapi does the same). Default: as stored.
   */
  liveNode?: (node: Node) => Node;
}

type Handlers = Record<string, (request: never, ctx: RpcContext) => Promise<unknown>>;

function required(value: string, field: string): string {
  if (value === "") {
    throw new ShoalError(ManagerErrorCode.InvalidArgument, `${field} is required`, { details: { field } });
  }
  return value;
}

function checkVersion(what: string, current: { meta?: { version: number } | undefined }, read: number): void {
  const now = current.meta?.version ?? 0;
  if (now !== read) {
    throw new ShoalError(
      StoreErrorCode.VersionConflict,
      `${what} changed since version ${read} was read (now ${now})`,
      {
        hint: "read it again and repeat the update",
        details: { expected: read, actual: now },
      },
    );
  }
}

/** A copy with `meta.version` set to what the caller read, so the store checks it at apply time. */
function atVersion<
  T extends { meta?: { version: number; createdAtMs: number; updatedAtMs: number } | undefined },
>(o: T, version: number): T {
  return { ...o, meta: { createdAtMs: 0, updatedAtMs: 0, ...o.meta, version } };
}

function inUseBy(kind: string, name: string, services: readonly Service[]): ShoalError {
  const names = services.map((s) => `"${s.spec?.name ?? s.id}"`).join(", ");
  return new ShoalError(
    ManagerErrorCode.InUse,
    `${kind} "${name}" is in use by ${services.length === 1 ? "service" : "services"} ${names}`,
    {
      hint: `remove the ${kind} from ${services.length === 1 ? "that service" : "those services"} first`,
      details: { services: services.map((s) => s.id) },
    },
  );
}

export class ControlApi {
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly checkManagerChange: ControlApiOptions["checkManagerChange"];
  private readonly liveNode: (node: Node) => Node;

  constructor(options: ControlApiOptions) {
    this.store = options.store;
    this.liveNode = options.liveNode ?? ((n) => n);
    this.logger = (options.logger ?? silentLogger()).child({ module: "manager/control" });
    this.checkManagerChange = options.checkManagerChange;
  }

  /** The grpc-js implementation of `Control`, to mount on the cluster port. */
  service(): grpc.UntypedServiceImplementation {
    const out: grpc.UntypedServiceImplementation = {};
    const handlers = this.handlers();
    for (const [name, fn] of Object.entries(handlers))
      out[name] = unaryHandler(this.logger, fn) as grpc.UntypedHandleCall;
    out.watch = streamHandler<WatchRequest, WatchMessage>(this.logger, (req, send, ctx) =>
      this.watch(req, send, ctx),
    );
    return out;
  }

  private view<R>(fn: (tx: ReadTx) => R): R {
    return this.store.view(fn);
  }

  private async write<R>(fn: (tx: WriteTx) => R): Promise<R> {
    return (await this.store.update(fn)).result;
  }

  private handlers(): Handlers {
    const s = this.store;
    return {
      // ---- nodes
      getNode: async (req: { nodeId: string }) => ({
        node: this.liveNode(this.view((tx) => tx.nodes.resolve(required(req.nodeId, "node_id")))),
      }),
      listNodes: async (req: { filters?: CommonFilters & { roles: NodeRole[] } }) => ({
        nodes: this.view((tx) => tx.nodes.list())
          .filter(
            (n) =>
              matchesCommon(n, req.filters) &&
              ((req.filters?.roles.length ?? 0) === 0 || req.filters?.roles.includes(n.role)),
          )
          .map(this.liveNode),
      }),
      updateNode: async (req: { nodeId: string; nodeVersion: number; spec?: Node["spec"] }) => {
        if (req.spec === undefined)
          throw new ShoalError(ManagerErrorCode.InvalidArgument, "spec is required", {
            details: { field: "spec" },
          });
        assertValidNodeSpec(req.spec);
        const spec = req.spec;
        const current = this.view((tx) => tx.nodes.resolve(required(req.nodeId, "node_id")));
        checkVersion(`node "${current.spec?.name || current.id}"`, current, req.nodeVersion);
        if (current.role === NodeRole.MANAGER && spec.desiredRole === NodeRole.WORKER)
          this.assertManagerChange(current, "demote");
        const node = await this.write((tx) => {
          const updated = { ...atVersion(current, req.nodeVersion), spec };
          tx.nodes.update(updated);
          return updated;
        });
        return { node: this.view((tx) => tx.nodes.get(node.id)) };
      },
      removeNode: async (req: { nodeId: string; force: boolean }) => {
        const node = this.view((tx) => tx.nodes.resolve(required(req.nodeId, "node_id")));
        const name = node.spec?.name || node.description?.hostname || node.id;
        if (node.role === NodeRole.MANAGER) {
          throw new ShoalError(
            ManagerErrorCode.QuorumUnsafe,
            `node "${name}" is a manager; demote it before removing it`,
            {
              hint: `shoal node demote ${name}`,
            },
          );
        }
        if (!req.force && node.status?.state === NodeState.READY) {
          throw new ShoalError(
            ManagerErrorCode.InvalidArgument,
            `node "${name}" is ready; only a down node can be removed`,
            {
              hint: "stop the node (or leave on it) first, or repeat with --force",
            },
          );
        }
        await this.write((tx) => tx.nodes.delete(node.id));
        return {};
      },

      // ---- services
      createService: async (req: { spec?: ServiceSpec }) => {
        const spec = this.validService(req.spec);
        const service = await this.write((tx) => {
          this.assertReferencesExist(tx, spec);
          const created = Service.fromPartial({ id: newId(), spec });
          // Nothing to publish, no network: the allocator's endpoint now, so the orchestrator's
          // first tasks go straight to PENDING.
          const endpoint = trivialEndpoint(created);
          if (endpoint !== undefined) created.endpoint = endpoint;
          tx.services.create(created);
          return created;
        });
        return { service: this.view((tx) => tx.services.get(service.id)) };
      },
      getService: async (req: { serviceId: string; insertDefaults: boolean }) => {
        const service = this.view((tx) => tx.services.resolve(required(req.serviceId, "service_id")));
        return {
          service:
            req.insertDefaults && service.spec !== undefined
              ? { ...service, spec: withServiceDefaults(service.spec) }
              : service,
        };
      },
      listServices: async (req: { filters?: CommonFilters & { modes: number[] } }) => ({
        services: this.view((tx) => tx.services.list()).filter(
          (svc) =>
            matchesCommon(svc, req.filters) &&
            ((req.filters?.modes.length ?? 0) === 0 ||
              (svc.spec !== undefined && req.filters?.modes.includes(serviceModeKind(svc.spec)))),
        ),
      }),
      updateService: async (req: {
        serviceId: string;
        serviceVersion: number;
        spec?: ServiceSpec;
        rollback: boolean;
      }) => {
        const current = this.view((tx) => tx.services.resolve(required(req.serviceId, "service_id")));
        const name = current.spec?.name ?? current.id;
        checkVersion(`service "${name}"`, current, req.serviceVersion);
        let spec: ServiceSpec;
        if (req.rollback) {
          if (current.previousSpec === undefined) {
            throw new ShoalError(
              ManagerErrorCode.InvalidArgument,
              `service "${name}" has no previous spec to roll back to`,
            );
          }
          spec = current.previousSpec;
        } else {
          spec = this.validService(req.spec);
          if (spec.name !== name) {
            throw new ShoalError(
              ManagerErrorCode.InvalidArgument,
              `spec.name: a service cannot be renamed ("${name}" → "${spec.name}")`,
              {
                details: { field: "spec.name" },
              },
            );
          }
        }
        await this.write((tx) => {
          this.assertReferencesExist(tx, spec);
          // A rollback is ROLLBACK_STARTED (the updater uses the rollback config and stamps the
          // start); a new spec clears the status, so it supersedes a paused update (swarmkit).
          const updateStatus = req.rollback
            ? {
                state: UpdateState.ROLLBACK_STARTED,
                startedAtMs: 0,
                completedAtMs: 0,
                message: "manually requested rollback",
              }
            : undefined;
          tx.services.update({
            ...atVersion(current, req.serviceVersion),
            spec,
            previousSpec: current.spec,
            updateStatus,
          });
        });
        return { service: this.view((tx) => tx.services.get(current.id)) };
      },
      removeService: async (req: { serviceId: string }) => {
        const service = this.view((tx) => tx.services.resolve(required(req.serviceId, "service_id")));
        // The service goes, and every task of it is told to shut down and be removed (the task
        // reaper deletes them once the agents reported them stopped). Its tasks change while this
        // is proposed (agents report, the reaper deletes old ones): a transaction that lost such a
        // race fails as a whole when applied, and is built again from what is there now.
        for (let attempt = 1; ; attempt++) {
          try {
            await s.batch((b) => {
              b.update((tx) => {
                if (tx.services.get(service.id) !== undefined) tx.services.delete(service.id);
              });
              for (const task of this.view((tx) => tx.tasks.find("serviceId", service.id))) {
                if (task.desiredState >= TaskState.REMOVE) continue;
                b.update((tx) => {
                  const t = tx.tasks.get(task.id);
                  if (t !== undefined) tx.tasks.update({ ...t, desiredState: TaskState.REMOVE });
                });
              }
            });
            return {};
          } catch (err) {
            const raced = ShoalError.is(err) && LOST_RACE_CODES.has(err.code);
            if (!raced || attempt >= REMOVE_SERVICE_ATTEMPTS) throw err;
          }
        }
      },
      listServiceStatuses: async (req: { serviceIds: string[] }) => ({
        statuses: this.view((tx) => {
          const nodes = tx.nodes.list();
          // No ids: every service (as ListServices without filters; swarmkit answers nothing).
          const services =
            req.serviceIds.length === 0
              ? tx.services.list()
              : req.serviceIds.map((ref) => tx.services.resolve(ref));
          return services.map((svc) => serviceStatus(svc, tx.tasks.find("serviceId", svc.id), nodes));
        }),
      }),

      // ---- tasks (read only: tasks are made by the orchestrators)
      getTask: async (req: { taskId: string }) => ({
        task: redact(
          "task",
          this.view((tx) => tx.tasks.resolve(required(req.taskId, "task_id"))),
        ),
      }),
      listTasks: async (req: {
        filters?: CommonFilters & {
          serviceIds: string[];
          nodeIds: string[];
          desiredStates: TaskState[];
          slots: number[];
        };
      }) => {
        const f = req.filters;
        const sets = new Map<readonly unknown[], Set<unknown>>();
        const some = <T>(list: readonly T[] | undefined, v: T) => {
          if (list === undefined || list.length === 0) return true;
          let set = sets.get(list);
          if (set === undefined) {
            set = new Set(list);
            sets.set(list, set);
          }
          return set.has(v);
        };
        return {
          // By the service or node index when the filter names some (a 100,000-task cluster
          // polled for one service or a few nodes), else every task.
          tasks: this.view((tx) => {
            const ids = (f?.serviceIds.length ?? 0) > 0 ? f?.serviceIds : f?.nodeIds;
            if (ids === undefined || ids.length === 0) return tx.tasks.list();
            const index = ids === f?.serviceIds ? "serviceId" : "nodeId";
            const byId = new Map<string, Task>();
            for (const id of new Set(ids)) for (const t of tx.tasks.find(index, id)) byId.set(t.id, t);
            return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          })
            .filter(
              (t) =>
                matchesCommon({ id: t.id, spec: { name: t.name, labels: t.serviceLabels } }, f) &&
                some(f?.serviceIds, t.serviceId) &&
                some(f?.nodeIds, t.nodeId) &&
                some(f?.desiredStates, t.desiredState) &&
                some(f?.slots, t.slot),
            )
            .map((t) => redact("task", t)),
        };
      },

      // ---- networks, secrets, configs
      createNetwork: async (req: { spec?: Network["spec"] }) => {
        const spec = this.requiredSpec(req.spec);
        assertValidNetworkSpec(spec);
        // Allocated in the same transaction as it is created: a refused one leaves nothing, and
        // the subnet and VNI are in the store for every later leader.
        const network = await this.write((tx) => {
          const allocation = allocateNetwork(spec, tx.networks.list(), tx.clusters.list()[0]);
          const created = withAllocation(Network.fromPartial({ id: newId(), spec }), allocation);
          tx.networks.create(created);
          return created;
        });
        return { network: this.view((tx) => tx.networks.get(network.id)) };
      },
      getNetwork: async (req: { networkId: string }) => ({
        network: this.view((tx) => tx.networks.resolve(required(req.networkId, "network_id"))),
      }),
      listNetworks: async (req: { filters?: CommonFilters }) => ({
        networks: this.view((tx) => tx.networks.list()).filter((n) => matchesCommon(n, req.filters)),
      }),
      updateNetwork: async (req: { networkId: string; networkVersion: number; spec?: Network["spec"] }) => ({
        network: await this.updateLabelsOnly("network", req.networkId, req.networkVersion, req.spec),
      }),
      removeNetwork: async (req: { networkId: string }) => {
        await this.removeUnused("network", required(req.networkId, "network_id"));
        return {};
      },
      createSecret: async (req: { spec?: Secret["spec"] }) => {
        const spec = this.requiredSpec(req.spec);
        assertValidSecretSpec(spec);
        const secret = await this.write((tx) => {
          const created = Secret.fromPartial({ id: newId(), spec });
          tx.secrets.create(created);
          return created;
        });
        return { secret: redact("secret", this.view((tx) => tx.secrets.get(secret.id)) ?? secret) };
      },
      getSecret: async (req: { secretId: string }) => ({
        secret: redact(
          "secret",
          this.view((tx) => tx.secrets.resolve(required(req.secretId, "secret_id"))),
        ),
      }),
      listSecrets: async (req: { filters?: CommonFilters }) => ({
        secrets: this.view((tx) => tx.secrets.list())
          .filter((x) => matchesCommon(x, req.filters))
          .map((x) => redact("secret", x)),
      }),
      updateSecret: async (req: { secretId: string; secretVersion: number; spec?: Secret["spec"] }) => ({
        secret: redact(
          "secret",
          (await this.updateLabelsOnly("secret", req.secretId, req.secretVersion, req.spec)) as Secret,
        ),
      }),
      removeSecret: async (req: { secretId: string }) => {
        await this.removeUnused("secret", required(req.secretId, "secret_id"));
        return {};
      },
      createConfig: async (req: { spec?: Config["spec"] }) => {
        const spec = this.requiredSpec(req.spec);
        assertValidConfigSpec(spec);
        const config = await this.write((tx) => {
          const created = Config.fromPartial({ id: newId(), spec });
          tx.configs.create(created);
          return created;
        });
        return { config: this.view((tx) => tx.configs.get(config.id)) };
      },
      getConfig: async (req: { configId: string }) => ({
        config: this.view((tx) => tx.configs.resolve(required(req.configId, "config_id"))),
      }),
      listConfigs: async (req: { filters?: CommonFilters }) => ({
        configs: this.view((tx) => tx.configs.list()).filter((x) => matchesCommon(x, req.filters)),
      }),
      updateConfig: async (req: { configId: string; configVersion: number; spec?: Config["spec"] }) => ({
        config: await this.updateLabelsOnly("config", req.configId, req.configVersion, req.spec),
      }),
      removeConfig: async (req: { configId: string }) => {
        await this.removeUnused("config", required(req.configId, "config_id"));
        return {};
      },

      // ---- the cluster and its join tokens
      getCluster: async () => ({ cluster: redact("cluster", this.cluster()) }),
      updateCluster: async (req: { clusterId: string; clusterVersion: number; spec?: Cluster["spec"] }) => {
        const spec = this.requiredSpec(req.spec);
        assertValidClusterSpec(spec);
        const current = this.cluster();
        checkVersion(`cluster "${current.spec?.name ?? current.id}"`, current, req.clusterVersion);
        await this.write((tx) => tx.clusters.update({ ...atVersion(current, req.clusterVersion), spec }));
        return { cluster: redact("cluster", this.cluster()) };
      },
      getJoinTokens: async () => ({ joinTokens: this.joinTokens(this.cluster()) }),
      rotateJoinToken: async (req: { role: NodeRole }) => {
        const current = this.cluster();
        const tokens = this.joinTokens(current);
        const rotated: JoinTokens =
          req.role === NodeRole.MANAGER
            ? { ...tokens, manager: rotateJoinToken(tokens.manager) }
            : { ...tokens, worker: rotateJoinToken(tokens.worker) };
        await this.write((tx) => {
          const c = tx.clusters.get(current.id) ?? current;
          if (c.rootCa === undefined) return;
          tx.clusters.update({ ...c, rootCa: { ...c.rootCa, joinTokens: rotated } });
        });
        return { joinTokens: this.joinTokens(this.cluster()) };
      },
    };
  }

  private async watch(req: WatchRequest, send: (m: WatchMessage) => void, ctx: RpcContext): Promise<void> {
    if (req.resumeFromVersion !== 0) {
      throw new ShoalError(
        ManagerErrorCode.InvalidArgument,
        "resume_from_version is not supported yet; watch from now",
        {
          details: { field: "resume_from_version" },
        },
      );
    }
    let sentEvent = false;
    for await (const event of this.store.watch({ signal: ctx.signal })) {
      if (event.kind === "commit") {
        // A commit marker only after events of that commit that the caller wanted.
        if (sentEvent) send(toWatchMessage(event, false));
        sentEvent = false;
        continue;
      }
      if (!wantsEvent(req.selectors, event)) continue;
      send(toWatchMessage(event, req.includeOldObject));
      sentEvent = true;
    }
  }

  private validService(spec: ServiceSpec | undefined): ServiceSpec {
    const s = this.requiredSpec(spec);
    assertValidServiceSpec(s);
    return s;
  }

  private requiredSpec<T>(spec: T | undefined): T {
    if (spec === undefined) {
      throw new ShoalError(ManagerErrorCode.InvalidArgument, "spec is required", {
        details: { field: "spec" },
      });
    }
    return spec;
  }

  /** Secrets, configs and networks a spec names must exist (by id), named in the error. */
  private assertReferencesExist(tx: ReadTx, spec: ServiceSpec): void {
    const container = spec.taskTemplate?.container;
    for (const [i, ref] of (container?.secrets ?? []).entries()) {
      if (tx.secrets.get(ref.secretId) === undefined) {
        throw new ShoalError(
          ManagerErrorCode.NotFound,
          `secret "${ref.secretName || ref.secretId}" not found`,
          {
            details: { field: `task_template.container.secrets[${i}].secret_id` },
          },
        );
      }
    }
    for (const [i, ref] of (container?.configs ?? []).entries()) {
      if (tx.configs.get(ref.configId) === undefined) {
        throw new ShoalError(
          ManagerErrorCode.NotFound,
          `config "${ref.configName || ref.configId}" not found`,
          {
            details: { field: `task_template.container.configs[${i}].config_id` },
          },
        );
      }
    }
  }

  private assertManagerChange(node: Node, change: "demote" | "remove"): void {
    const check = this.checkManagerChange?.(node.id, change) ?? {
      kind: "unsafe",
      message: `cannot ${change} manager "${node.spec?.name || node.id}": this manager cannot check quorum`,
      hint: "",
      reachableAfter: 0,
      votersBefore: 0,
    };
    if (check.kind === "unsafe") {
      throw new ShoalError(ManagerErrorCode.QuorumUnsafe, check.message, { hint: check.hint });
    }
  }

  private async updateLabelsOnly(
    kind: "network" | "secret" | "config",
    ref: string,
    version: number,
    spec: { name: string; labels: Record<string, string> } | undefined,
  ) {
    const next = this.requiredSpec(spec);
    const table = (tx: ReadTx) =>
      kind === "network" ? tx.networks : kind === "secret" ? tx.secrets : tx.configs;
    const current = this.view((tx) => table(tx).resolve(required(ref, `${kind}_id`)));
    const name = current.spec?.name ?? current.id;
    checkVersion(`${kind} "${name}"`, current, version);
    if (next.name !== name) {
      throw new ShoalError(ManagerErrorCode.InvalidArgument, `spec.name: a ${kind} cannot be renamed`, {
        details: { field: "spec.name" },
      });
    }
    // Only labels change: the rest of the spec is immutable (services refer to it).
    const updated = { ...atVersion(current, version), spec: { ...current.spec, labels: next.labels } };
    await this.write((tx) => {
      if (kind === "network") tx.networks.update(updated as Network);
      else if (kind === "secret") tx.secrets.update(updated as Secret);
      else tx.configs.update(updated as Config);
    });
    return this.view((tx) => table(tx).get(current.id));
  }

  private async removeUnused(
    kind: Extract<Kind, "network" | "secret" | "config">,
    ref: string,
  ): Promise<void> {
    const { object, users } = this.view((tx) => {
      const o = (kind === "network" ? tx.networks : kind === "secret" ? tx.secrets : tx.configs).resolve(ref);
      const index = kind === "network" ? "networkId" : kind === "secret" ? "secretId" : "configId";
      // A service names its networks by id or by name (`--network backnet`, stack files).
      const keys = kind === "network" && o.spec?.name ? [o.id, o.spec.name] : [o.id];
      const users = new Map(keys.flatMap((k) => tx.services.find(index, k)).map((s) => [s.id, s]));
      return { object: o, users: [...users.values()] };
    });
    if (users.length > 0) throw inUseBy(kind, object.spec?.name ?? object.id, users);
    await this.write((tx) => {
      if (kind === "network") tx.networks.delete(object.id);
      else if (kind === "secret") tx.secrets.delete(object.id);
      else tx.configs.delete(object.id);
    });
  }

  private cluster(): Cluster {
    const cluster = this.view((tx) => tx.clusters.list()[0]);
    if (cluster === undefined) {
      throw new ShoalError(ManagerErrorCode.Unavailable, "the cluster is not initialized", {
        hint: "shoal cluster init",
      });
    }
    return cluster;
  }

  private joinTokens(cluster: Cluster): JoinTokens {
    const tokens = cluster.rootCa?.joinTokens;
    if (tokens === undefined)
      throw new ShoalError(ManagerErrorCode.Internal, "the cluster object has no join tokens");
    return tokens;
  }
}
