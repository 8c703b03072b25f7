// Manager processes for end-to-end tests: `manager-main` (the built JS of @shoal/manager) run
// inside a testkit host, one process per manager, plus mTLS clients of their cluster port made
// from a manager's certificate files or from a certificate issued with a join token.
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import {
  createBootstrapCredentials,
  createClientCredentials,
  createJoinCredentials,
  createNodeKeyAndCsr,
  type NodeTlsMaterial,
  tlsChannelOptions,
} from "@shoal/pki";
import { ControlClient, IssuanceState, NodeCAClient, type NodeRole } from "@shoal/proto";
import type { TestHost } from "@shoal/testkit";

/** The cluster port every manager binds inside its own host (each host has its own namespace). */
export const MANAGER_PORT = 4270;

/** The built entry: end-to-end tests run what ships, so `npx turbo run build` must have run. */
export const MANAGER_MAIN = fileURLToPath(
  new URL("../../packages/manager/dist/manager-main.js", import.meta.url),
);

export interface ReadyLine {
  nodeId: string;
  raftId: number;
  clusterId: string;
  port: number;
}

export interface ManagerProcess {
  readonly host: TestHost;
  readonly dataDir: string;
  /** `address:port` on the test subnet. */
  readonly address: string;
  readonly child: ChildProcess;
  readonly ready: ReadyLine;
  /** Everything the process wrote to stderr so far (its log). */
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

export interface StartManagerOptions {
  dataDir: string;
  /** Bootstrap a new cluster, join one, or (neither) restart from the data dir. */
  init?: boolean;
  join?: { token: string; remote: string };
  /** Raft tick; the default election timeout is ten ticks. */
  tickMs?: number;
  /** How long to wait for the ready line. */
  timeoutMs?: number;
}

/** The outcome of a manager-main that exited before it was ready (a refused join, …). */
export interface StartFailure {
  code: number | NodeJS.Signals;
  stderr: string;
}

function spawnManager(host: TestHost, options: StartManagerOptions): ChildProcess {
  if (!existsSync(MANAGER_MAIN)) {
    throw new Error(
      `${MANAGER_MAIN} does not exist: build first (npx turbo run build --filter=@shoal/manager)`,
    );
  }
  const address = `${host.address}:${MANAGER_PORT}`;
  const args = [MANAGER_MAIN, "--data-dir", options.dataDir, "--listen", address, "--advertise", address];
  if (options.init) args.push("--init");
  if (options.join) args.push("--join", options.join.token, "--remote", options.join.remote);
  if (options.tickMs !== undefined) args.push("--tick-ms", String(options.tickMs));
  return host.spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Starts manager-main in `host` and waits for its ready line; rejects with the process's stderr
 * if it exits first or does not become ready in time.
 */
export async function startManager(host: TestHost, options: StartManagerOptions): Promise<ManagerProcess> {
  let outcome = await runManager(host, options);
  // A join that reaches the leader while it is between two membership changes is told there is
  // no leader (and writes nothing): a joining node tries again, as this does.
  for (let attempt = 1; options.join && attempt < 5 && isNoLeader(outcome); attempt++) {
    await new Promise((r) => setTimeout(r, 1_000));
    outcome = await runManager(host, options);
  }
  if ("stderr" in outcome && !("ready" in outcome)) {
    throw new Error(
      `manager on ${host.name} exited (${outcome.code}) before it was ready:\n${outcome.stderr}`,
    );
  }
  return outcome as ManagerProcess;
}

const isNoLeader = (o: ManagerProcess | StartFailure) =>
  !("ready" in o) && /NO_LEADER|has no leader/.test(o.stderr);

/** Like startManager, but an exit before ready is a result (for refusals the test expects). */
export function runManager(
  host: TestHost,
  options: StartManagerOptions,
): Promise<ManagerProcess | StartFailure> {
  const child = spawnManager(host, options);
  let err = "";
  let out = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`manager on ${host.name} not ready after ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.includes('"ready":true'));
      if (line === undefined) return;
      clearTimeout(timer);
      const ready = JSON.parse(line) as ReadyLine;
      resolve({
        host,
        dataDir: options.dataDir,
        address: `${host.address}:${ready.port}`,
        child,
        ready,
        stderr: () => err,
        exited,
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      resolve({ code, stderr: err });
    });
  });
}

/** SIGKILL, as a crash: no leadership transfer, no flush beyond what was fsynced. */
export async function killManager(m: ManagerProcess): Promise<void> {
  if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill("SIGKILL");
  await m.exited;
}

/** SIGTERM: a graceful stop (a leader hands leadership over first). */
export async function stopManager(m: ManagerProcess): Promise<number | NodeJS.Signals> {
  if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill("SIGTERM");
  return m.exited;
}

/** A manager's own TLS files (its certificate is a manager certificate). */
export async function managerTls(dataDir: string): Promise<NodeTlsMaterial> {
  const dir = join(dataDir, "certs");
  const [rootCertPem, keyPem, certPem] = await Promise.all(
    ["root.crt", "node.key", "node.crt"].map((f) => readFile(join(dir, f), "utf8")),
  );
  return { rootCertPem: rootCertPem as string, keyPem: keyPem as string, certPem: certPem as string };
}

const channelOptions = () => ({ ...tlsChannelOptions(), "grpc.use_local_subchannel_pool": 1 });

export function controlClient(address: string, tls: NodeTlsMaterial, clusterId: string): ControlClient {
  return new ControlClient(address, createClientCredentials(tls, { clusterId }), channelOptions());
}

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;

/** One unary call on a generated client, by method name, with a deadline. */
export function unary<T>(
  client: grpc.Client,
  method: string,
  request: unknown,
  timeoutMs = 5_000,
): Promise<T> {
  const fn = (client as unknown as Record<string, unknown>)[method];
  if (typeof fn !== "function") throw new Error(`no method ${method}`);
  return new Promise<T>((resolve, reject) =>
    (fn as (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: Callback<T>) => void).call(
      client,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, value) => (err ? reject(err) : resolve(value as T)),
    ),
  );
}

/** The call's error (a ServiceError), or undefined if it succeeded. */
export async function unaryError(
  client: grpc.Client,
  method: string,
  request: unknown,
): Promise<grpc.ServiceError | undefined> {
  try {
    await unary(client, method, request);
    return undefined;
  } catch (err) {
    return err as grpc.ServiceError;
  }
}

/**
 * What a joining node does before it has a certificate: fetch the root, send a CSR with the
 * token, poll until issued. (No pinning here: the tests know the root.)
 */
export async function issueCertificate(
  address: string,
  token: string,
  role: NodeRole,
  clusterId: string,
): Promise<NodeTlsMaterial> {
  const bootstrap = new NodeCAClient(address, createBootstrapCredentials(), channelOptions());
  let rootCertPem: string;
  try {
    const res = await unary<{ certificate: Uint8Array }>(bootstrap, "getRootCaCertificate", {});
    rootCertPem = Buffer.from(res.certificate).toString("utf8");
  } finally {
    bootstrap.close();
  }
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const ca = new NodeCAClient(address, createJoinCredentials(rootCertPem, { clusterId }), channelOptions());
  try {
    const { nodeId } = await unary<{ nodeId: string }>(ca, "issueNodeCertificate", {
      csr: Buffer.from(csrPem),
      token,
      role,
      availability: 0,
      hosts: [],
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const status = await unary<{
        certificate?: { status?: { state: number }; certificate: Uint8Array };
      }>(ca, "nodeCertificateStatus", { nodeId });
      if (status.certificate?.status?.state === IssuanceState.ISSUED) {
        return { rootCertPem, keyPem, certPem: Buffer.from(status.certificate.certificate).toString("utf8") };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`certificate for node "${nodeId}" not issued within 30 s`);
  } finally {
    ca.close();
  }
}
