// Certificates for tests: a cluster root and node certificates issued from it, as a manager's CA
// would issue them, plus clients of every cluster-port service on one address.
import * as grpc from "@grpc/grpc-js";
import {
  createClientCredentials,
  type NodeRole,
  type NodeTlsMaterial,
  type RootCa,
  tlsChannelOptions,
} from "@shoal/pki";
import {
  ControlClient,
  DispatcherClient,
  NodeCAClient,
  RaftClient,
  RaftMessage,
  WatchRequest,
} from "@shoal/proto";
import { SHOAL_CODE_TRAILER } from "../src/grpc-status.js";

export const LOOPBACK = "127.0.0.1";

export async function nodeMaterial(
  root: RootCa,
  nodeId: string,
  role: NodeRole,
  options: { lifetimeMs?: number } = {},
): Promise<NodeTlsMaterial> {
  return root.issueNodeMaterial({
    nodeId,
    role,
    hosts: [LOOPBACK],
    nowMs: Date.now(),
    ...(options.lifetimeMs === undefined ? {} : { lifetimeMs: options.lifetimeMs }),
  });
}

export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; status: string; shoalCode: string; details: string };

const DEADLINE_MS = 5_000;
const deadline = () => ({ deadline: Date.now() + DEADLINE_MS });

/** Resolves a callback-style unary call into an Outcome with the status name and `shoal-code`. */
export function unary(
  start: (cb: (err: grpc.ServiceError | null, value: unknown) => void) => void,
): Promise<Outcome> {
  return new Promise((resolve) => {
    start((err, value) => {
      if (err) resolve(failure(err));
      else resolve({ ok: true, value });
    });
  });
}

export function streamed(
  call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>,
  take = 1,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const messages: unknown[] = [];
    call.on("data", (m) => {
      messages.push(m);
      if (messages.length >= take) {
        call.cancel();
        resolve({ ok: true, value: messages });
      }
    });
    call.on("error", (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) resolve(failure(err));
    });
    call.on("end", () => resolve({ ok: true, value: messages }));
  });
}

function failure(err: grpc.ServiceError): Outcome {
  const code = err.metadata?.get(SHOAL_CODE_TRAILER)[0];
  return {
    ok: false,
    status: grpc.status[err.code] ?? String(err.code),
    shoalCode: typeof code === "string" ? code : "",
    details: err.details,
  };
}

/** One client per cluster-port service, each on its own channel (a fresh TLS handshake). */
export class PortClients {
  readonly control: ControlClient;
  readonly dispatcher: DispatcherClient;
  readonly ca: NodeCAClient;
  readonly raft: RaftClient;

  constructor(address: string, credentials: grpc.ChannelCredentials) {
    const options = { ...tlsChannelOptions(), "grpc.use_local_subchannel_pool": 1 };
    this.control = new ControlClient(address, credentials, options);
    this.dispatcher = new DispatcherClient(address, credentials, options);
    this.ca = new NodeCAClient(address, credentials, options);
    this.raft = new RaftClient(address, credentials, options);
  }

  static as(address: string, material: NodeTlsMaterial, clusterId: string): PortClients {
    return new PortClients(address, createClientCredentials(material, { clusterId }));
  }

  getNode(): Promise<Outcome> {
    return unary((cb) => this.control.getNode({ nodeId: "n" }, new grpc.Metadata(), deadline(), cb));
  }
  listServices(): Promise<Outcome> {
    return unary((cb) => this.control.listServices({}, new grpc.Metadata(), deadline(), cb));
  }
  watch(): Promise<Outcome> {
    return streamed(this.control.watch(WatchRequest.fromPartial({}), new grpc.Metadata(), deadline()));
  }
  /** A unary Dispatcher call (any session id: the handlers here do not check it). */
  updateTaskStatus(): Promise<Outcome> {
    return unary((cb) =>
      this.dispatcher.updateTaskStatus({ sessionId: "s", updates: [] }, new grpc.Metadata(), deadline(), cb),
    );
  }
  /** The session stream, opened with its first message. */
  session(): Promise<Outcome> {
    const call = this.dispatcher.session(new grpc.Metadata(), deadline());
    call.write({ kind: { $case: "open", value: { previousSessionId: "" } } });
    return streamed(call);
  }
  getRoot(): Promise<Outcome> {
    return unary((cb) => this.ca.getRootCaCertificate({}, new grpc.Metadata(), deadline(), cb));
  }
  renew(): Promise<Outcome> {
    return unary((cb) =>
      this.ca.renewNodeCertificate({ csr: new Uint8Array(), hosts: [] }, new grpc.Metadata(), deadline(), cb),
    );
  }
  raftMessage(): Promise<Outcome> {
    return unary((cb) =>
      this.raft.processRaftMessage(RaftMessage.fromPartial({}), new grpc.Metadata(), deadline(), cb),
    );
  }
  raftJoin(): Promise<Outcome> {
    return unary((cb) => this.raft.join({ addr: "127.0.0.1:1" }, new grpc.Metadata(), deadline(), cb));
  }

  close(): void {
    this.control.close();
    this.dispatcher.close();
    this.ca.close();
    this.raft.close();
  }
}
