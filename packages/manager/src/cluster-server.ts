// The cluster port: one grpc-js server with mutual TLS carrying the Raft transport, the CA, the
// control API and the dispatcher (DESIGN.md §2). Every service is wrapped by pki's
// authorizeService, so the caller's role is checked from its verified certificate before any
// handler runs; methods a component does not serve yet answer MANAGER_UNIMPLEMENTED after the
// same check. A server interceptor adds the `shoal-code` trailer to statuses that gRPC or the
// authorization wrapper produce without one, so every refusal a client meets names a code.
import * as grpc from "@grpc/grpc-js";
import { type Logger, ShoalError, silentLogger } from "@shoal/base";
import {
  authorizeService,
  createServerCredentials,
  type NodeCertificateProvider,
  type RpcRoleTable,
  SHOAL_RPC_ROLES,
  verifiedCaller,
} from "@shoal/pki";
import {
  ControlService,
  DispatcherService,
  LogBrokerService,
  LogsService,
  NodeCAService,
  RaftService,
  StoreForwardingService,
} from "@shoal/proto";
import { ManagerErrorCode } from "./errors.js";
import { codeForBareStatus, SHOAL_CODE_TRAILER, toStatus } from "./grpc-status.js";

/** Swarm's 2377, ours: the port of the cluster gRPC server. */
export const DEFAULT_CLUSTER_PORT = 4270;
/** close() lets calls in progress finish for this long, then cuts the rest. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 1_000;
/** Messages are bounded by Raft's 4 MiB limit; the server refuses anything larger. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

type Impl = grpc.UntypedServiceImplementation;

/** Handlers by service; a missing service or method answers MANAGER_UNIMPLEMENTED. */
export interface ClusterServices {
  raft?: Impl;
  nodeCa?: Impl;
  control?: Impl;
  dispatcher?: Impl;
  logBroker?: Impl;
  logs?: Impl;
  storeForwarding?: Impl;
}

export interface ClusterServerOptions {
  /** `host:port` to bind; port 0 picks a free one (tests). */
  listenAddress: string;
  /** This manager's certificate, renewable in place. */
  certificates: NodeCertificateProvider;
  /** The cluster whose certificates are accepted (a function when it is only known later). */
  clusterId: string | (() => string);
  services: ClusterServices;
  logger?: Logger;
  /** The RPC roles table; Shoal's by default. */
  roles?: RpcRoleTable;
  shutdownGraceMs?: number;
  /**
   * A second check after the certificate's role, for manager-only services: the caller's node
   * as the store knows it. Returns a refusal, or undefined to let the call through. This is how
   * a removed or demoted manager is refused with its old (still unexpired) certificate.
   */
  checkManager?: (nodeId: string) => ShoalError | undefined;
}

/** Services whose callers must also be managers in the store (not only by certificate). */
const MANAGER_ONLY: ReadonlySet<keyof ClusterServices> = new Set([
  "raft",
  "control",
  "storeForwarding",
  "logs",
]);

const DEFINITIONS: readonly (readonly [keyof ClusterServices, grpc.ServiceDefinition])[] = [
  ["raft", RaftService],
  ["nodeCa", NodeCAService],
  ["control", ControlService],
  ["dispatcher", DispatcherService],
  ["logBroker", LogBrokerService],
  ["logs", LogsService],
  ["storeForwarding", StoreForwardingService],
];

export class ClusterServer {
  private closed = false;

  private constructor(
    private readonly server: grpc.Server,
    /** The bound port (the real one when the address asked for 0). */
    readonly port: number,
    private readonly shutdownGraceMs: number,
    private readonly logger: Logger,
  ) {}

  static async open(options: ClusterServerOptions): Promise<ClusterServer> {
    const logger = (options.logger ?? silentLogger()).child({ module: "manager/cluster-server" });
    const server = new grpc.Server({
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      interceptors: [codeTrailerInterceptor],
      // Channelz (grpc-js's introspection registry, which nothing here serves) counts every call,
      // stream and message: per-call work for thousands of agents' heartbeats.
      "grpc.enable_channelz": 0,
    });
    for (const [key, definition] of DEFINITIONS) {
      const served = withUnimplemented(definition, options.services[key] ?? {}, logger);
      const implementation =
        options.checkManager !== undefined && MANAGER_ONLY.has(key)
          ? withManagerCheck(served, options.checkManager, logger)
          : served;
      server.addService(
        definition,
        authorizeService(definition, implementation, {
          clusterId: options.clusterId,
          table: options.roles ?? SHOAL_RPC_ROLES,
          logger,
        }),
      );
    }
    const credentials = createServerCredentials(options.certificates, {
      clientCertificates: "verify-if-given",
    });
    let port: number;
    try {
      port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(options.listenAddress, credentials, (err, p) => (err ? reject(err) : resolve(p))),
      );
    } catch (err) {
      server.forceShutdown();
      throw new ShoalError(ManagerErrorCode.Unavailable, `cannot listen on "${options.listenAddress}"`, {
        cause: err,
        hint: "another process may hold the port; choose another with --listen",
      });
    }
    logger.info({ address: options.listenAddress, port }, "cluster port listening");
    return new ClusterServer(server, port, options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS, logger);
  }

  /** Stops accepting calls, lets running ones finish within the grace, then cuts the rest. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, this.shutdownGraceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.logger.info({ port: this.port }, "cluster port closed");
  }
}

/** Adds `shoal-code` to a failing status that has none (authorization refusals, unknown methods). */
const codeTrailerInterceptor: grpc.ServerInterceptor = (_method, call) =>
  new grpc.ServerInterceptingCall(call, {
    sendStatus: (status, next) => {
      const code = codeForBareStatus(status.code);
      if (code !== undefined && (status.metadata?.get(SHOAL_CODE_TRAILER).length ?? 0) === 0) {
        const metadata = status.metadata ?? new grpc.Metadata();
        metadata.set(SHOAL_CODE_TRAILER, code);
        next({ ...status, metadata });
        return;
      }
      next(status);
    },
  });

/** Runs `check` on the verified caller before each handler (after authorizeService's role check). */
function withManagerCheck(
  implementation: Impl,
  check: (nodeId: string) => ShoalError | undefined,
  logger: Logger,
): Impl {
  const out: Impl = {};
  for (const [name, handler] of Object.entries(implementation)) {
    out[name] = ((call: object, callback?: grpc.sendUnaryData<unknown>) => {
      const nodeId = verifiedCaller(call)?.nodeId;
      const refusal = nodeId === undefined ? undefined : check(nodeId);
      if (refusal === undefined) return (handler as (c: object, cb?: unknown) => unknown)(call, callback);
      logger.info({ nodeId, code: refusal.code }, "rpc refused: not a manager of this cluster any more");
      const status = toStatus(refusal, logger);
      if (callback !== undefined) callback(status, null);
      else (call as { emit(e: string, v: unknown): void }).emit("error", status);
      return undefined;
    }) as grpc.UntypedHandleCall;
  }
  return out;
}

function withUnimplemented(definition: grpc.ServiceDefinition, implementation: Impl, logger: Logger): Impl {
  const out: Impl = { ...implementation };
  for (const [name, method] of Object.entries(definition)) {
    if (out[name] !== undefined) continue;
    const refusal = () =>
      toStatus(
        new ShoalError(
          ManagerErrorCode.Unimplemented,
          `method "${method.path}" is not served by this manager`,
        ),
        logger,
      );
    if (method.responseStream) {
      out[name] = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.emit("error", refusal());
      }) as grpc.UntypedHandleCall;
    } else {
      out[name] = ((_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        callback(refusal(), null);
      }) as grpc.UntypedHandleCall;
    }
  }
  return out;
}
