import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { ShoalError } from "@shoal/base";
import { ControlService, LogsService, NodeAdminService } from "@shoal/proto";
import { CliErrorCode } from "../errors.js";
import { describeEndpoint, type Endpoint } from "./endpoint.js";
import { fromGrpcError } from "./remote-error.js";

/** How long one call may take before the CLI gives up on the manager. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

type Definition = Record<string, { path: string; requestStream: boolean; responseStream: boolean }>;
type UnaryName<D> = {
  [K in keyof D]: D[K] extends { requestStream: false; responseStream: false } ? K : never;
}[keyof D] &
  string;
type StreamName<D> = {
  [K in keyof D]: D[K] extends { requestStream: false; responseStream: true } ? K : never;
}[keyof D] &
  string;
type RequestOf<M> = M extends { requestSerialize: (value: infer R) => Buffer } ? R : never;
type ResponseOf<M> = M extends { responseDeserialize: (value: Buffer) => infer R } ? R : never;

type ControlDef = typeof ControlService;
type AdminDef = typeof NodeAdminService;
export type ControlMethod = UnaryName<ControlDef>;
export type AdminMethod = UnaryName<AdminDef>;
export type AdminStreamMethod = StreamName<AdminDef>;

export interface CallOptions {
  timeoutMs?: number;
}

/** What commands call: the Control API and the daemon's NodeAdmin API, as promises. */
export interface Api {
  readonly endpoint: string;
  control<K extends ControlMethod>(
    method: K,
    request: RequestOf<ControlDef[K]>,
  ): Promise<ResponseOf<ControlDef[K]>>;
  /** `options.timeoutMs` for calls that may take long (an image pull); default DEFAULT_CALL_TIMEOUT_MS. */
  admin<K extends AdminMethod>(
    method: K,
    request: RequestOf<AdminDef[K]>,
    options?: CallOptions,
  ): Promise<ResponseOf<AdminDef[K]>>;
  /**
   * A server-streaming NodeAdmin call (logs, events): resolves when the server ends the stream.
   * Through --host, the manager's Logs service answers the methods it shares with NodeAdmin.
   */
  adminStream<K extends AdminStreamMethod>(
    method: K,
    request: RequestOf<AdminDef[K]>,
    onMessage: (message: ResponseOf<AdminDef[K]>) => void,
  ): Promise<void>;
}

/**
 * One grpc-js channel to the admin socket (plaintext: the socket's mode is the access control) or
 * to a manager's cluster port (mTLS with the user's client certificate, the server checked against
 * the pinned root CA and the cluster id that root names). Errors come back as ShoalErrors
 * (`fromGrpcError`).
 */
export class Connection implements Api {
  readonly endpoint: string;
  private readonly client: grpc.Client;

  private constructor(
    client: grpc.Client,
    endpoint: string,
    /** A manager's cluster port, not the admin socket. */
    private readonly remote = false,
  ) {
    this.client = client;
    this.endpoint = endpoint;
  }

  static async open(endpoint: Endpoint): Promise<Connection> {
    const name = describeEndpoint(endpoint);
    if (endpoint.kind === "socket") {
      return new Connection(
        new grpc.Client(`unix:${endpoint.path}`, grpc.credentials.createInsecure()),
        name,
      );
    }
    // One after the other, so the first missing file named is always the same one.
    const rootCertPem = await readPem(endpoint.caCertPath, "root CA certificate");
    const certPem = await readPem(endpoint.certPath, "client certificate");
    const keyPem = await readPem(endpoint.keyPath, "client key");
    const clusterId = clusterIdOfRoot(rootCertPem, endpoint.caCertPath);
    // The PKI code (certificate parsing and checks) loads only for a remote manager: a command on
    // the local admin socket starts without it.
    const { createClientCredentials, tlsChannelOptions } = await import("@shoal/pki");
    const credentials = createClientCredentials({ rootCertPem, certPem, keyPem }, { clusterId });
    return new Connection(new grpc.Client(endpoint.address, credentials, tlsChannelOptions()), name, true);
  }

  control<K extends ControlMethod>(
    method: K,
    request: RequestOf<ControlDef[K]>,
  ): Promise<ResponseOf<ControlDef[K]>> {
    return this.unary(ControlService, method, request);
  }

  admin<K extends AdminMethod>(
    method: K,
    request: RequestOf<AdminDef[K]>,
    options: CallOptions = {},
  ): Promise<ResponseOf<AdminDef[K]>> {
    return this.unary(NodeAdminService, method, request, options.timeoutMs);
  }

  adminStream<K extends AdminStreamMethod>(
    method: K,
    request: RequestOf<AdminDef[K]>,
    onMessage: (message: ResponseOf<AdminDef[K]>) => void,
  ): Promise<void> {
    // The same messages on both services: only the path differs.
    const def = (this.remote ? LogsService[method] : NodeAdminService[method]) as unknown as {
      path: string;
      requestSerialize: (value: unknown) => Buffer;
      responseDeserialize: (value: Buffer) => unknown;
    };
    return new Promise((resolvePromise, reject) => {
      const call = this.client.makeServerStreamRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        {},
      );
      call.on("data", (m: unknown) => onMessage(m as ResponseOf<AdminDef[K]>));
      call.on("error", (err: grpc.ServiceError) => reject(fromGrpcError(err, this.endpoint)));
      call.on("end", () => resolvePromise());
    });
  }

  close(): void {
    this.client.close();
  }

  private unary<D extends Definition, K extends UnaryName<D>>(
    definition: D,
    method: K,
    request: RequestOf<D[K]>,
    timeoutMs = DEFAULT_CALL_TIMEOUT_MS,
  ): Promise<ResponseOf<D[K]>> {
    const def = definition[method] as unknown as {
      path: string;
      requestSerialize: (value: unknown) => Buffer;
      responseDeserialize: (value: Buffer) => unknown;
    };
    return new Promise((resolvePromise, reject) => {
      this.client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, response) => {
          if (err) reject(fromGrpcError(err, this.endpoint));
          else resolvePromise(response as ResponseOf<D[K]>);
        },
      );
    });
  }
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new ShoalError(
      CliErrorCode.TlsMaterial,
      `cannot read the ${what} "${path}": ${(err as Error).message}`,
      {
        hint: "check --tlscacert, --tlscert and --tlskey (or SHOAL_CERT_PATH)",
        cause: err,
      },
    );
  }
}

/** The cluster id is the root CA's O (see @shoal/pki): servers must present a certificate with it. */
function clusterIdOfRoot(pem: string, path: string): string {
  let subject: string;
  try {
    subject = new X509Certificate(pem).subject;
  } catch (err) {
    throw new ShoalError(CliErrorCode.TlsMaterial, `"${path}" is not a PEM certificate`, {
      hint: "--tlscacert takes the cluster's root CA certificate",
      cause: err,
    });
  }
  const org = subject.split("\n").find((line) => line.startsWith("O="));
  if (org === undefined) {
    throw new ShoalError(CliErrorCode.TlsMaterial, `"${path}" names no cluster (its subject has no O=)`, {
      hint: "--tlscacert takes the cluster's root CA certificate",
    });
  }
  return org.slice(2);
}
