import { isAbsolute, join, resolve } from "node:path";
import { ShoalError } from "@shoal/base";
import { CliErrorCode } from "../errors.js";

/** Where the admin socket is unless `SHOAL_SOCKET` or `-H unix://…` says otherwise. */
export const DEFAULT_SOCKET_PATH = "/run/shoal/shoal.sock";
/** Port of the cluster's gRPC server when `--host` gives none (DESIGN.md §2). */
export const DEFAULT_CLUSTER_PORT = 4270;

export const EndpointEnv = {
  /** Overrides the admin socket path (tests, several daemons on one machine). */
  Socket: "SHOAL_SOCKET",
  Host: "SHOAL_HOST",
  /** A directory holding ca.pem, cert.pem and key.pem (as DOCKER_CERT_PATH). */
  CertPath: "SHOAL_CERT_PATH",
  CaCert: "SHOAL_TLS_CACERT",
  Cert: "SHOAL_TLS_CERT",
  Key: "SHOAL_TLS_KEY",
} as const;

export type Endpoint =
  | { kind: "socket"; path: string }
  | { kind: "tcp"; address: string; caCertPath: string; certPath: string; keyPath: string };

export interface EndpointOptions {
  host?: string | undefined;
  tlscacert?: string | undefined;
  tlscert?: string | undefined;
  tlskey?: string | undefined;
}

/**
 * Decides where commands go, from the global options and the environment (pure). No `--host`:
 * the local admin socket. `--host unix:///path`: that socket. `--host addr[:port]`: a manager's
 * cluster port with mTLS, the client certificate and the pinned root CA taken from the flags, then
 * the `SHOAL_TLS_*` variables, then `SHOAL_CERT_PATH` (ca.pem, cert.pem, key.pem).
 */
export function resolveEndpoint(
  options: EndpointOptions,
  env: Record<string, string | undefined>,
  cwd: string,
): Endpoint {
  const host = nonEmpty(options.host) ?? nonEmpty(env[EndpointEnv.Host]);
  if (host === undefined) {
    return { kind: "socket", path: nonEmpty(env[EndpointEnv.Socket]) ?? DEFAULT_SOCKET_PATH };
  }
  if (host.startsWith("unix://")) {
    const path = host.slice("unix://".length);
    if (!isAbsolute(path)) {
      throw new ShoalError(CliErrorCode.Usage, `--host "${host}": a unix socket path must be absolute`, {
        hint: "write it as unix:///run/shoal/shoal.sock",
      });
    }
    return { kind: "socket", path };
  }
  const address = withPort(host.replace(/^tcp:\/\//, ""));
  const certDir = nonEmpty(env[EndpointEnv.CertPath]);
  const pick = (flag: string | undefined, envName: string, file: string, what: string): string => {
    const value =
      nonEmpty(flag) ?? nonEmpty(env[envName]) ?? (certDir === undefined ? undefined : join(certDir, file));
    if (value === undefined) {
      throw new ShoalError(CliErrorCode.TlsMaterial, `--host ${host} needs ${what}`, {
        hint: `pass --${flagName(envName)} FILE, set ${envName}, or set ${EndpointEnv.CertPath} to a directory with ca.pem, cert.pem and key.pem`,
      });
    }
    return resolve(cwd, value);
  };
  return {
    kind: "tcp",
    address,
    caCertPath: pick(options.tlscacert, EndpointEnv.CaCert, "ca.pem", "the cluster's root CA certificate"),
    certPath: pick(options.tlscert, EndpointEnv.Cert, "cert.pem", "a client certificate"),
    keyPath: pick(options.tlskey, EndpointEnv.Key, "key.pem", "the client certificate's key"),
  };
}

export function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.kind === "socket" ? `unix://${endpoint.path}` : endpoint.address;
}

function flagName(envName: string): string {
  return envName === EndpointEnv.CaCert ? "tlscacert" : envName === EndpointEnv.Cert ? "tlscert" : "tlskey";
}

function withPort(host: string): string {
  // [v6]:port, v4:port, name:port — or no port at all.
  if (/^\[.*\]:\d+$/.test(host) || /^[^:]+:\d+$/.test(host)) return host;
  if (host.includes(":") && !host.startsWith("[")) return `[${host}]:${DEFAULT_CLUSTER_PORT}`;
  return `${host}:${DEFAULT_CLUSTER_PORT}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
