// A small Control + NodeAdmin server for the CLI's in-process tests: real grpc-js on a unix socket
// (or TCP with mTLS), state in memory. It resolves ids, id prefixes and names the way the manager
// will, records every request, and turns a service's spec into tasks at once — RUNNING, or
// REJECTED with an error for images named in `rejectImages`, so both ends of convergence are seen.
import * as grpc from "@grpc/grpc-js";
import { authorizeService } from "@shoal/pki";
import {
  type Config,
  ControlService,
  type Network,
  Node,
  NodeAdminService,
  NodeAvailability,
  NodeRole,
  NodeState,
  Reachability,
  type Secret,
  type Service,
  ServiceSpec,
  Task,
  TaskState,
  UpdateState,
} from "@shoal/proto";

export interface RecordedCall {
  method: string;
  request: unknown;
}

export interface FakeCluster {
  address: string;
  calls: RecordedCall[];
  nodes: Node[];
  services: Service[];
  tasks: Task[];
  networks: Network[];
  secrets: Secret[];
  configs: Config[];
  /** Images whose tasks are rejected, with this error. */
  rejectImages: Map<string, string>;
  /**
   * What the updater would make of an update to these images: the update status to report (a
   * ROLLBACK_* state also puts the previous spec back). Other updates complete at once.
   */
  updateOutcomes: Map<string, { state: UpdateState; message: string }>;
  /** Makes the next call of `method` fail with this gRPC status, message and shoal-code. */
  failNext(method: string, status: grpc.status, message: string, code?: string): void;
  methods(): string[];
  close(): Promise<void>;
}

type Handler = (request: never) => unknown;

class RpcError extends Error {
  constructor(
    readonly status: grpc.status,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

let counter = 0;
/** Ids like the manager's: 25 base-36 characters, distinct prefixes per test object. */
function id(prefix: string): string {
  counter++;
  return `${prefix}${String(counter).padStart(4, "0")}`.padEnd(25, "x");
}

function meta(nowMs: number) {
  return { version: 1, createdAtMs: nowMs, updatedAtMs: nowMs };
}

/** id, then unique id prefix, then name — ambiguous prefixes refused, as the manager does. */
function resolve<
  T extends {
    id: string;
    spec?: { name: string } | undefined;
    description?: { hostname: string } | undefined;
  },
>(kind: string, list: T[], ref: string): T {
  const exact =
    list.find((o) => o.id === ref) ??
    list.find((o) => o.spec?.name === ref || (o.description?.hostname ?? "") === ref);
  if (exact !== undefined) return exact;
  const byPrefix = list.filter((o) => o.id.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0] as T;
  if (byPrefix.length > 1)
    throw new RpcError(grpc.status.NOT_FOUND, `${kind} prefix "${ref}" is ambiguous`, "MANAGER_AMBIGUOUS");
  throw new RpcError(grpc.status.NOT_FOUND, `${kind} "${ref}" not found`, "MANAGER_NOT_FOUND");
}

function byLabels(labels: Record<string, string> | undefined) {
  return (o: { spec?: { labels: Record<string, string> } | undefined }) =>
    Object.entries(labels ?? {}).every(
      ([k, v]) => o.spec?.labels[k] !== undefined && (v === "" || o.spec.labels[k] === v),
    );
}

export async function startFakeCluster(
  listen:
    | { socketPath: string }
    | {
        tcp: string;
        credentials: grpc.ServerCredentials;
        /** Wrap Control in the manager's role check for this cluster (NodeAdmin is socket-only). */
        clusterId: string;
      },
): Promise<FakeCluster> {
  const now = () => Date.now();
  const failures = new Map<string, { status: grpc.status; message: string; code?: string | undefined }>();
  const state: Omit<FakeCluster, "address" | "close" | "failNext" | "methods"> = {
    calls: [],
    nodes: [
      Node.fromPartial({
        id: "node1managerxxxxxxxxxxxxx",
        meta: meta(now()),
        spec: {
          name: "",
          labels: {},
          desiredRole: NodeRole.MANAGER,
          membership: 1,
          availability: NodeAvailability.ACTIVE,
        },
        description: { hostname: "host-a", engine: { engineVersion: "0.1.0", labels: {} } },
        status: { state: NodeState.READY, message: "", addr: "10.0.0.1" },
        managerStatus: {
          raftId: 1,
          addr: "10.0.0.1:4270",
          leader: true,
          reachability: Reachability.REACHABLE,
        },
        role: NodeRole.MANAGER,
      }),
      Node.fromPartial({
        id: "node2workerxxxxxxxxxxxxxx",
        meta: meta(now()),
        spec: {
          name: "",
          labels: { zone: "b" },
          desiredRole: NodeRole.WORKER,
          membership: 1,
          availability: NodeAvailability.ACTIVE,
        },
        description: { hostname: "host-b", engine: { engineVersion: "0.1.0", labels: {} } },
        status: { state: NodeState.READY, message: "", addr: "10.0.0.2" },
        role: NodeRole.WORKER,
      }),
    ],
    services: [],
    tasks: [],
    networks: [],
    secrets: [],
    configs: [],
    rejectImages: new Map(),
    updateOutcomes: new Map(),
  };

  /** The "orchestrator": one task per replica (per node for global), running or rejected at once. */
  function reconcile(service: Service): void {
    const spec = service.spec as ServiceSpec;
    for (const t of state.tasks) {
      if (
        t.serviceId === service.id &&
        t.specVersion !== service.specVersion &&
        t.desiredState === TaskState.RUNNING
      ) {
        t.desiredState = TaskState.SHUTDOWN;
        t.status = { timestampMs: now(), state: TaskState.SHUTDOWN, message: "shutdown", err: "" };
      }
    }
    const slots =
      spec.mode?.$case === "global"
        ? state.nodes.map((n, i) => ({ slot: 0, nodeId: n.id, index: i }))
        : Array.from(
            { length: spec.mode?.$case === "replicated" ? (spec.mode.value.replicas ?? 1) : 1 },
            (_, i) => ({
              slot: i + 1,
              nodeId: (state.nodes[i % state.nodes.length] as Node).id,
              index: i,
            }),
          );
    for (const t of state.tasks) {
      if (t.serviceId === service.id && t.desiredState === TaskState.RUNNING && t.slot > slots.length) {
        t.desiredState = TaskState.SHUTDOWN;
        t.status = { timestampMs: now(), state: TaskState.SHUTDOWN, message: "shutdown", err: "" };
      }
    }
    const image = spec.taskTemplate?.container?.image ?? "";
    const reject = state.rejectImages.get(image);
    for (const { slot, nodeId } of slots) {
      const live = state.tasks.some(
        (t) =>
          t.serviceId === service.id &&
          t.slot === slot &&
          t.nodeId === nodeId &&
          t.desiredState === TaskState.RUNNING &&
          t.specVersion === service.specVersion,
      );
      if (live) continue;
      // A rejected image gets three attempts, all rejected, the way restarts would pile up.
      for (let attempt = 0; attempt < (reject === undefined ? 1 : 3); attempt++) {
        state.tasks.push(
          Task.fromPartial({
            id: id("task"),
            meta: meta(now()),
            spec: spec.taskTemplate,
            specVersion: service.specVersion,
            serviceId: service.id,
            slot,
            nodeId,
            name: `${spec.name}.${slot}`,
            serviceLabels: spec.labels,
            status:
              reject === undefined
                ? { timestampMs: now(), state: TaskState.RUNNING, message: "started", err: "" }
                : {
                    timestampMs: now() + attempt,
                    state: TaskState.REJECTED,
                    message: "preparing",
                    err: reject,
                  },
            desiredState: reject === undefined ? TaskState.RUNNING : TaskState.SHUTDOWN,
            networks: [],
            assignedGenericResources: [],
          }),
        );
      }
    }
  }

  const theCluster = () => ({
    id: "clusterxxxxxxxxxxxxxxxxxx",
    meta: meta(0),
    spec: { name: "default", labels: {}, orchestration: { taskHistoryRetentionLimit: 5 } },
    rootCa: {
      caCert: new Uint8Array(),
      caKey: new Uint8Array([1, 2]),
      caCertHash: "h",
      joinTokens: { worker: "SHTKN-1-w", manager: "SHTKN-1-m" },
    },
    networkBootstrapKeys: [],
    encryptionKeyLamportClock: 0,
  });

  const control: Record<string, Handler> = {
    listNodes: () => ({ nodes: state.nodes }),
    getNode: (r: { nodeId: string }) => ({ node: resolve("node", state.nodes, r.nodeId) }),
    updateNode: (r: { nodeId: string; nodeVersion: number; spec: Node["spec"] }) => {
      const node = resolve("node", state.nodes, r.nodeId);
      if (node.meta?.version !== r.nodeVersion)
        throw new RpcError(grpc.status.ABORTED, "node changed since it was read", "STORE_CONFLICT");
      node.spec = r.spec;
      node.meta = { ...(node.meta ?? meta(now())), version: (node.meta?.version ?? 0) + 1 };
      return { node };
    },
    removeNode: (r: { nodeId: string }) => {
      const node = resolve("node", state.nodes, r.nodeId);
      state.nodes = state.nodes.filter((n) => n !== node);
      return {};
    },
    createService: (r: { spec: ServiceSpec }) => {
      if (state.services.some((s) => s.spec?.name === r.spec.name)) {
        throw new RpcError(
          grpc.status.ALREADY_EXISTS,
          `service "${r.spec.name}" already exists`,
          "MANAGER_ALREADY_EXISTS",
        );
      }
      const service: Service = {
        id: id("svc"),
        meta: meta(now()),
        spec: r.spec,
        specVersion: 1,
        pendingDelete: false,
      };
      state.services.push(service);
      reconcile(service);
      return { service };
    },
    getService: (r: { serviceId: string }) => ({ service: resolve("service", state.services, r.serviceId) }),
    listServices: (r: { filters?: { labels?: Record<string, string> } }) => ({
      services: state.services.filter(byLabels(r.filters?.labels)),
    }),
    updateService: (r: {
      serviceId: string;
      serviceVersion: number;
      spec?: ServiceSpec;
      rollback: boolean;
    }) => {
      const service = resolve("service", state.services, r.serviceId);
      if (service.meta?.version !== r.serviceVersion)
        throw new RpcError(grpc.status.ABORTED, "service changed since it was read", "STORE_CONFLICT");
      const next = r.rollback ? service.previousSpec : r.spec;
      if (next === undefined)
        throw new RpcError(
          grpc.status.FAILED_PRECONDITION,
          "service has no previous spec",
          "MANAGER_NO_PREVIOUS_SPEC",
        );
      service.previousSpec = service.spec;
      service.spec = ServiceSpec.fromPartial(next);
      service.specVersion++;
      const outcome = r.rollback
        ? { state: UpdateState.ROLLBACK_COMPLETED, message: "rollback completed" }
        : (state.updateOutcomes.get(service.spec.taskTemplate?.container?.image ?? "") ?? {
            state: UpdateState.COMPLETED,
            message: "update completed",
          });
      if (
        !r.rollback &&
        outcome.state >= UpdateState.ROLLBACK_STARTED &&
        service.previousSpec !== undefined
      ) {
        service.spec = service.previousSpec;
        service.previousSpec = undefined;
      }
      service.updateStatus = { ...outcome, startedAtMs: now(), completedAtMs: now() };
      service.meta = { ...(service.meta ?? meta(now())), version: (service.meta?.version ?? 0) + 1 };
      reconcile(service);
      return { service };
    },
    removeService: (r: { serviceId: string }) => {
      const service = resolve("service", state.services, r.serviceId);
      state.services = state.services.filter((s) => s !== service);
      state.tasks = state.tasks.filter((t) => t.serviceId !== service.id);
      return {};
    },
    listServiceStatuses: (r: { serviceIds: string[] }) => ({
      statuses: r.serviceIds.map((serviceId) => {
        const service = state.services.find((s) => s.id === serviceId);
        const mode = service?.spec?.mode;
        const desired =
          mode?.$case === "global"
            ? state.nodes.length
            : mode?.$case === "replicated"
              ? (mode.value.replicas ?? 1)
              : 1;
        const running = state.tasks.filter(
          (t) =>
            t.serviceId === serviceId &&
            t.status?.state === TaskState.RUNNING &&
            t.desiredState === TaskState.RUNNING,
        ).length;
        return { serviceId, desiredTasks: desired, runningTasks: running, completedTasks: 0 };
      }),
    }),
    listTasks: (r: { filters?: { serviceIds?: string[] } }) => ({
      tasks: state.tasks.filter(
        (t) => (r.filters?.serviceIds ?? []).length === 0 || r.filters?.serviceIds?.includes(t.serviceId),
      ),
    }),
    createNetwork: (r: { spec: Network["spec"] }) => {
      const network: Network = { id: id("net"), meta: meta(now()), spec: r.spec, pendingDelete: false };
      state.networks.push(network);
      return { network };
    },
    listNetworks: () => ({ networks: state.networks }),
    removeNetwork: (r: { networkId: string }) => {
      const n = resolve("network", state.networks, r.networkId);
      state.networks = state.networks.filter((x) => x !== n);
      return {};
    },
    createSecret: (r: { spec: Secret["spec"] }) => {
      const secret: Secret = { id: id("sec"), meta: meta(now()), spec: r.spec };
      state.secrets.push(secret);
      return { secret: { ...secret, spec: { ...r.spec, data: new Uint8Array() } } };
    },
    listSecrets: () => ({
      secrets: state.secrets.map((s) => ({ ...s, spec: s.spec && { ...s.spec, data: new Uint8Array() } })),
    }),
    getSecret: (r: { secretId: string }) => {
      const s = resolve("secret", state.secrets, r.secretId);
      return { secret: { ...s, spec: s.spec && { ...s.spec, data: new Uint8Array() } } };
    },
    removeSecret: (r: { secretId: string }) => {
      const s = resolve("secret", state.secrets, r.secretId);
      state.secrets = state.secrets.filter((x) => x !== s);
      return {};
    },
    createConfig: (r: { spec: Config["spec"] }) => {
      const config: Config = { id: id("cfg"), meta: meta(now()), spec: r.spec };
      state.configs.push(config);
      return { config };
    },
    listConfigs: () => ({ configs: state.configs }),
    getConfig: (r: { configId: string }) => ({ config: resolve("config", state.configs, r.configId) }),
    removeConfig: (r: { configId: string }) => {
      const c = resolve("config", state.configs, r.configId);
      state.configs = state.configs.filter((x) => x !== c);
      return {};
    },
    getCluster: () => ({ cluster: theCluster() }),
    updateCluster: (r: { spec: unknown }) => ({
      cluster: { ...theCluster(), spec: r.spec },
    }),
    getJoinTokens: () => ({
      joinTokens: { worker: "SHTKN-1-digest-worker", manager: "SHTKN-1-digest-manager" },
    }),
    rotateJoinToken: (r: { role: NodeRole }) => ({
      joinTokens: {
        worker: r.role === NodeRole.WORKER ? "SHTKN-1-digest-worker2" : "SHTKN-1-digest-worker",
        manager: "SHTKN-1-digest-manager",
      },
    }),
  };
  const admin: Record<string, Handler> = {
    initCluster: (r: { advertiseAddr: string }) => ({
      nodeId: "node1managerxxxxxxxxxxxxx",
      clusterId: "clusterxxxxxxxxxxxxxxxxxx",
      workerJoinToken: "SHTKN-1-digest-worker",
      managerJoinToken: "SHTKN-1-digest-manager",
      advertiseAddr: r.advertiseAddr === "" ? "10.0.0.1:4270" : r.advertiseAddr,
    }),
    joinCluster: () => ({
      nodeId: "node3xxxxxxxxxxxxxxxxxxxx",
      clusterId: "clusterxxxxxxxxxxxxxxxxxx",
      role: NodeRole.WORKER,
    }),
    leaveCluster: () => ({}),
    getNodeInfo: () => ({
      nodeId: "node1managerxxxxxxxxxxxxx",
      clusterId: "clusterxxxxxxxxxxxxxxxxxx",
      role: NodeRole.MANAGER,
      isManager: true,
    }),
  };

  function implement(
    definition: Record<string, { requestStream: boolean; responseStream: boolean }>,
    handlers: Record<string, Handler>,
  ) {
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [name, def] of Object.entries(definition)) {
      if (def.requestStream || def.responseStream) {
        impl[name] = (call: grpc.ServerWritableStream<unknown, unknown>) =>
          call.emit("error", { code: grpc.status.UNIMPLEMENTED });
        continue;
      }
      impl[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        state.calls.push({ method: name, request: call.request });
        const fail = failures.get(name);
        const handler = handlers[name];
        try {
          if (fail !== undefined) {
            failures.delete(name);
            throw new RpcError(fail.status, fail.message, fail.code ?? "");
          }
          if (handler === undefined)
            throw new RpcError(grpc.status.UNIMPLEMENTED, `${name} is not in the fake`, "");
          callback(null, handler(call.request as never));
        } catch (err) {
          if (!(err instanceof RpcError)) throw err;
          const metadata = new grpc.Metadata();
          if (err.code !== "") metadata.set("shoal-code", err.code);
          callback({ code: err.status, details: err.message, metadata });
        }
      };
    }
    return impl;
  }

  const server = new grpc.Server();
  if ("socketPath" in listen) {
    server.addService(ControlService, implement(ControlService, control));
    server.addService(NodeAdminService, implement(NodeAdminService, admin));
  } else {
    server.addService(
      ControlService,
      authorizeService(ControlService, implement(ControlService, control), { clusterId: listen.clusterId }),
    );
  }
  const address = await new Promise<string>((done, fail) => {
    const target = "socketPath" in listen ? `unix:${listen.socketPath}` : listen.tcp;
    const credentials = "socketPath" in listen ? grpc.ServerCredentials.createInsecure() : listen.credentials;
    server.bindAsync(target, credentials, (err, port) =>
      err ? fail(err) : done("socketPath" in listen ? listen.socketPath : `127.0.0.1:${port}`),
    );
  });

  const fake = state as FakeCluster;
  fake.address = address;
  fake.failNext = (method, status, message, code) => failures.set(method, { status, message, code });
  fake.methods = () => state.calls.map((c) => c.method);
  fake.close = () => new Promise((done) => server.tryShutdown(() => done()));
  return fake;
}
