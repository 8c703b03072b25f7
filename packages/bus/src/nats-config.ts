import { ShoalError } from "@shoal/base";
import { BusErrorCode } from "./errors.js";
import { isSubjectToken, nodeInboxPrefix, nodeLogSubjects } from "./subjects.js";

/** host:port, as nats-server reads listen addresses and routes. */
export interface HostPort {
  host: string;
  port: number;
}

/** A node the server lets in, by the node id its certificate carries (CN and first DNS SAN). */
export interface NodeAccess {
  nodeId: string;
  role: "manager" | "worker";
}

export interface NatsConfigInput {
  serverName: string;
  clusterName: string;
  client: HostPort;
  cluster: HostPort;
  /** Other servers' cluster addresses; our own may be in the list (nats-server skips itself). */
  routes: readonly HostPort[];
  storeDir: string;
  logFile: string;
  pidFile: string;
  tls: { certFile: string; keyFile: string; caFile: string };
  nodes: readonly NodeAccess[];
  /** Shared by the managers' servers: a route must present it (a worker's certificate is CA-signed too). */
  routeSecret?: string | undefined;
  maxFileStoreBytes?: number | undefined;
}

export function formatHostPort(a: HostPort): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function parseHostPort(text: string, what: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (m === null || !(port > 0 && port < 65536)) {
    throw new ShoalError(BusErrorCode.InvalidOption, `${what} "${text}" is not host:port`, {
      hint: "give an address such as 127.0.0.1:4222",
    });
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

/**
 * The nats-server configuration, as JSON (nats-server's format is a superset of it, so quoting is
 * JSON's and no value can break out of its place).
 *
 * Authorization is by certificate (`verify_and_map`): the server maps a client certificate to the
 * user named like its first DNS SAN, which our node certificates make the node id. Managers get
 * every permission (they read for the CLI and run JetStream's API); a worker may publish only its
 * own log subjects and read only replies sent to its own inbox prefix, so one node's credentials
 * cannot write another's lines. A certificate whose node is not listed is refused.
 */
export function renderNatsConfig(input: NatsConfigInput): string {
  for (const n of input.nodes) {
    if (!isSubjectToken(n.nodeId))
      throw new ShoalError(BusErrorCode.InvalidOption, `node id "${n.nodeId}" cannot be a NATS user`, {
        hint: "node ids are [0-9A-Za-z_-], 1 to 64 characters",
      });
  }
  const tls = {
    cert_file: input.tls.certFile,
    key_file: input.tls.keyFile,
    ca_file: input.tls.caFile,
    timeout: 5,
  };
  const users = input.nodes.map((n) =>
    n.role === "manager"
      ? { user: n.nodeId }
      : {
          user: n.nodeId,
          permissions: {
            publish: { allow: [nodeLogSubjects(n.nodeId)] },
            subscribe: { allow: [`${nodeInboxPrefix(n.nodeId)}.>`] },
          },
        },
  );
  const config: Record<string, unknown> = {
    server_name: input.serverName,
    listen: formatHostPort(input.client),
    pid_file: input.pidFile,
    log_file: input.logFile,
    jetstream: {
      store_dir: input.storeDir,
      ...(input.maxFileStoreBytes !== undefined ? { max_file_store: input.maxFileStoreBytes } : {}),
    },
    tls: { ...tls, verify_and_map: true },
    authorization: { users },
    // A lone server runs JetStream unclustered: nats-server refuses a cluster without routes.
    ...(hasCluster(input) ? { cluster: clusterBlock(input, tls) } : {}),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Whether the server is clustered: some route other than itself. */
export function hasCluster(input: Pick<NatsConfigInput, "routes" | "cluster">): boolean {
  return input.routes.some((r) => r.host !== input.cluster.host || r.port !== input.cluster.port);
}

function clusterBlock(input: NatsConfigInput, tls: Record<string, unknown>): Record<string, unknown> {
  return {
    name: input.clusterName,
    listen: formatHostPort(input.cluster),
    // A route's listener checks the dialer's certificate against the CA (verify) and its route
    // secret; the dialer does not check the listener's (insecure): it dials an IP address, and
    // only the first manager's certificate names its IP (joined managers get theirs from the CA,
    // which does not know their address), so checking would refuse most routes and leave the
    // mesh partial — JetStream then times out. Known limit: see the README.
    tls: { ...tls, verify: true, insecure: true },
    ...(input.routeSecret !== undefined
      ? { authorization: { user: "route", password: input.routeSecret } }
      : {}),
    routes: input.routes.map((r) => {
      const auth = input.routeSecret !== undefined ? `route:${encodeURIComponent(input.routeSecret)}@` : "";
      return `nats-route://${auth}${formatHostPort(r)}`;
    }),
  };
}
