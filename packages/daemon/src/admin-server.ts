// The admin socket (DESIGN.md §2): gRPC over a unix socket, no TLS — the socket's mode (0600)
// and its directory's (0700) are the access control, local root has full control. It serves
// NodeAdmin (the daemon's own) and Control, delegated to the local manager's handlers while this
// node runs them; on a worker Control answers DAEMON_NOT_MANAGER.
import { chmod, mkdir, stat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { dirname } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type Logger, ShoalError } from "@shoal/base";
import { toStatus } from "@shoal/manager";
import { ControlService, NodeAdminService } from "@shoal/proto";
import { DaemonErrorCode } from "./errors.js";

type Impl = grpc.UntypedServiceImplementation;

export interface AdminServerOptions {
  socketPath: string;
  nodeAdmin: Impl;
  /** The Control handlers of the manager this daemon runs now, or the refusal to send. */
  control: () => Impl | ShoalError;
  logger: Logger;
}

export class AdminServer {
  private constructor(
    private readonly server: grpc.Server,
    readonly socketPath: string,
  ) {}

  static async open(o: AdminServerOptions): Promise<AdminServer> {
    await prepareSocketPath(o.socketPath);
    const server = new grpc.Server();
    server.addService(NodeAdminService, o.nodeAdmin);
    server.addService(ControlService, delegated(ControlService, o.control, o.logger));
    try {
      await new Promise<number>((resolve, reject) =>
        server.bindAsync(`unix:${o.socketPath}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
          err ? reject(err) : resolve(p),
        ),
      );
    } catch (err) {
      server.forceShutdown();
      throw new ShoalError(
        DaemonErrorCode.SocketInUse,
        `cannot listen on the admin socket "${o.socketPath}"`,
        {
          cause: err,
          hint: "choose another path with --socket",
        },
      );
    }
    await chmod(o.socketPath, 0o600);
    o.logger.info({ socket: o.socketPath }, "admin socket listening");
    return new AdminServer(server, o.socketPath);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1_000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await unlink(this.socketPath).catch(() => {});
  }
}

/**
 * The socket's directory made 0700 when we create it; a socket file left by a daemon that died
 * is removed, one that answers is another daemon's (refused).
 */
async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  const live = await new Promise<boolean>((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
  if (live) {
    throw new ShoalError(
      DaemonErrorCode.SocketInUse,
      `another daemon listens on the admin socket "${path}"`,
      {
        hint: "stop it first, or give this daemon another --socket and --data-dir",
      },
    );
  }
  await unlink(path);
}

/** Every method of `definition`, calling the handler `current()` gives at call time. */
function delegated(
  definition: grpc.ServiceDefinition,
  current: () => Impl | ShoalError,
  logger: Logger,
): Impl {
  const out: Impl = {};
  for (const name of Object.keys(definition)) {
    out[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => {
      const impl = current();
      const handler = impl instanceof ShoalError ? undefined : impl[name];
      if (handler !== undefined) return (handler as (c: object, cb?: unknown) => unknown)(call, callback);
      const refusal =
        impl instanceof ShoalError
          ? impl
          : new ShoalError(DaemonErrorCode.Unimplemented, `Control.${name} is not served here`);
      const status = toStatus(refusal, logger);
      if (callback !== undefined) callback(status, null);
      else (call as unknown as { emit(e: string, v: unknown): void }).emit("error", status);
      return undefined;
    }) as grpc.UntypedHandleCall;
  }
  return out;
}
