// Real grpc-js servers and clients over loopback for the mTLS tests: one small implementation of
// Control, Dispatcher and NodeCA (each handler answers with the verified caller's node id where the
// message has room for it), wrapped by authorizeService exactly as the manager will wrap its own.
import * as grpc from "@grpc/grpc-js";
import {
  ControlClient,
  ControlService,
  DispatcherClient,
  DispatcherService,
  GetNodeResponse,
  NodeCAClient,
  NodeCAService,
  SessionMessage,
  type SessionServerMessage,
  WatchMessage,
  WatchRequest,
} from "@shoal/proto";
import {
  authorizeService,
  type ClientCertificatePolicy,
  createServerCredentials,
  type NodeCertificateProvider,
  type NodeRole,
  type NodeTlsMaterial,
  type RootCa,
  tlsChannelOptions,
  verifiedCaller,
} from "../src/index.js";

export const LOOPBACK = "127.0.0.1";

/** A node's key and a certificate from `root`, ready for TLS. */
export async function nodeMaterial(
  root: RootCa,
  nodeId: string,
  role: NodeRole,
  options: { lifetimeMs?: number; trust?: string } = {},
): Promise<NodeTlsMaterial> {
  const material = await root.issueNodeMaterial({
    nodeId,
    role,
    hosts: [LOOPBACK],
    nowMs: Date.now(),
    ...(options.lifetimeMs === undefined ? {} : { lifetimeMs: options.lifetimeMs }),
  });
  return { ...material, rootCertPem: options.trust ?? root.certPem };
}

export interface TestServer {
  address: string;
  /** Node ids of callers whose handler ran, in order. */
  handled: string[];
  close(): Promise<void>;
}

export async function startServer(
  source: NodeTlsMaterial | NodeCertificateProvider,
  clientCertificates: ClientCertificatePolicy,
  clusterId: string,
): Promise<TestServer> {
  const rootPem = "current" in source ? source.current.rootCertPem : source.rootCertPem;
  const handled: string[] = [];
  const seen = (call: object) => handled.push(verifiedCaller(call)?.nodeId ?? "(anonymous)");
  const server = new grpc.Server();
  const options = { clusterId };
  server.addService(
    ControlService,
    authorizeService(
      ControlService,
      {
        getNode: (
          call: grpc.ServerUnaryCall<unknown, GetNodeResponse>,
          callback: grpc.sendUnaryData<GetNodeResponse>,
        ) => {
          seen(call);
          callback(null, GetNodeResponse.fromPartial({}));
        },
        watch: (call: grpc.ServerWritableStream<unknown, WatchMessage>) => {
          seen(call);
          call.write(WatchMessage.fromPartial({}));
          call.end();
        },
      },
      options,
    ),
  );
  server.addService(
    DispatcherService,
    authorizeService(
      DispatcherService,
      {
        // The unary method a worker may call (the mTLS tests' plain call to an agent-only service).
        updateTaskStatus: (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          seen(call);
          callback(null, {});
        },
        session: (call: grpc.ServerDuplexStream<unknown, SessionServerMessage>) => {
          seen(call);
          const value = SessionMessage.fromPartial({ sessionId: verifiedCaller(call)?.nodeId ?? "" });
          call.write({ kind: { $case: "session", value } });
          call.end();
        },
      },
      options,
    ),
  );
  server.addService(
    NodeCAService,
    authorizeService(
      NodeCAService,
      {
        getRootCaCertificate: (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          seen(call);
          callback(null, { certificate: Buffer.from(rootPem) });
        },
        renewNodeCertificate: (
          call: grpc.ServerUnaryCall<unknown, unknown>,
          callback: grpc.sendUnaryData<unknown>,
        ) => {
          seen(call);
          callback(null, { nodeId: verifiedCaller(call)?.nodeId ?? "" });
        },
      },
      options,
    ),
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${LOOPBACK}:0`, createServerCredentials(source, { clientCertificates }), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  return {
    address: `${LOOPBACK}:${port}`,
    handled,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}

export type CallOutcome = { ok: true; value: unknown } | { ok: false; code: string; details: string };

const DEADLINE_MS = 5000;

export class TestClients {
  readonly control: ControlClient;
  readonly dispatcher: DispatcherClient;
  readonly ca: NodeCAClient;

  constructor(address: string, credentials: grpc.ChannelCredentials) {
    // A fresh channel each: the tests must see a new TLS handshake, not a reused connection.
    const options = { ...tlsChannelOptions(), "grpc.use_local_subchannel_pool": 1 };
    this.control = new ControlClient(address, credentials, options);
    this.dispatcher = new DispatcherClient(address, credentials, options);
    this.ca = new NodeCAClient(address, credentials, options);
  }

  getNode(): Promise<CallOutcome> {
    return unary((cb) => this.control.getNode({ nodeId: "x" }, new grpc.Metadata(), deadline(), cb));
  }

  /** A unary Dispatcher call, which workers may make. */
  updateTaskStatus(): Promise<CallOutcome> {
    return unary((cb) =>
      this.dispatcher.updateTaskStatus({ sessionId: "s", updates: [] }, new grpc.Metadata(), deadline(), cb),
    );
  }

  renew(): Promise<CallOutcome> {
    return unary((cb) =>
      this.ca.renewNodeCertificate({ csr: new Uint8Array(), hosts: [] }, new grpc.Metadata(), deadline(), cb),
    );
  }

  getRoot(): Promise<CallOutcome> {
    return unary((cb) => this.ca.getRootCaCertificate({}, new grpc.Metadata(), deadline(), cb));
  }

  watch(): Promise<CallOutcome> {
    return stream(this.control.watch(WatchRequest.fromPartial({}), new grpc.Metadata(), deadline()));
  }

  session(): Promise<CallOutcome> {
    const call = this.dispatcher.session(new grpc.Metadata(), deadline());
    call.write({ kind: { $case: "open", value: { previousSessionId: "" } } });
    return stream(call);
  }

  close(): void {
    this.control.close();
    this.dispatcher.close();
    this.ca.close();
  }
}

function deadline(): Partial<grpc.CallOptions> {
  return { deadline: Date.now() + DEADLINE_MS };
}

function unary(
  start: (cb: (err: grpc.ServiceError | null, value: unknown) => void) => void,
): Promise<CallOutcome> {
  return new Promise((resolve) => {
    start((err, value) => {
      if (err) resolve({ ok: false, code: grpc.status[err.code] ?? String(err.code), details: err.details });
      else resolve({ ok: true, value });
    });
  });
}

function stream(
  call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
): Promise<CallOutcome> {
  return new Promise((resolve) => {
    const messages: unknown[] = [];
    call.on("data", (m) => messages.push(m));
    call.on("error", (err: grpc.ServiceError) =>
      resolve({ ok: false, code: grpc.status[err.code] ?? String(err.code), details: err.details }),
    );
    call.on("end", () => resolve({ ok: true, value: messages }));
  });
}
