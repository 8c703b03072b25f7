import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { type NodeRole, roleDnsName } from "./node-role.js";

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/** What a node holds to speak mTLS: the cluster root it trusts and its own key and certificate. */
export interface NodeTlsMaterial {
  rootCertPem: string;
  certPem: string;
  /** PKCS #8 PEM. Never logged. */
  keyPem: string;
}

/**
 * Feeds a grpc-js server the node's current root, key and certificate. `update()` after a renewal
 * swaps them for new connections without restarting the server (grpc-js re-creates its secure
 * context on every update); connections already open keep the certificate they were made with.
 */
export class NodeCertificateProvider implements CertificateProvider {
  private material: NodeTlsMaterial;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();

  constructor(material: NodeTlsMaterial) {
    this.material = material;
  }

  get current(): NodeTlsMaterial {
    return this.material;
  }

  /** What a log line shows: the certificate, never the key. */
  toJSON(): { certPem: string } {
    return { certPem: this.material.certPem };
  }

  update(material: NodeTlsMaterial): void {
    this.material = material;
    for (const listener of this.caListeners) listener(this.caUpdate());
    for (const listener of this.identityListeners) listener(this.identityUpdate());
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // The first update goes out on a later turn: grpc-js registers with the provider before it
    // starts listening for the result, so an update delivered during registration would be lost
    // and the server would drop every connection for want of a certificate.
    queueMicrotask(() => {
      if (this.caListeners.has(listener)) listener(this.caUpdate());
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.identityListeners.has(listener)) listener(this.identityUpdate());
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private caUpdate(): grpc.experimental.CaCertificateUpdate {
    return { caCertificate: Buffer.from(this.material.rootCertPem) };
  }

  private identityUpdate(): grpc.experimental.IdentityCertificateUpdate {
    return { certificate: Buffer.from(this.material.certPem), privateKey: Buffer.from(this.material.keyPem) };
  }
}

/**
 * How the server treats client certificates.
 * - "require": a client without a certificate signed by the root, or with an expired one, fails the
 *   TLS handshake. For ports that only nodes use.
 * - "verify-if-given": the handshake also admits clients without a valid certificate, which then
 *   have no identity (`callerIdentity` says why) and may call only methods the RPC table opens to
 *   anyone — the joining node's GetRootCACertificate and IssueNodeCertificate (Swarm's
 *   VerifyClientCertIfGiven). The cluster port needs this.
 */
export type ClientCertificatePolicy = "require" | "verify-if-given";

export interface ServerCredentialsOptions {
  clientCertificates?: ClientCertificatePolicy;
}

export const DEFAULT_CLIENT_CERTIFICATE_POLICY: ClientCertificatePolicy = "require";

/** Server credentials for grpc-js from a provider (renewable) or fixed material. */
export function createServerCredentials(
  source: NodeCertificateProvider | NodeTlsMaterial,
  options: ServerCredentialsOptions = {},
): grpc.ServerCredentials {
  const policy = options.clientCertificates ?? DEFAULT_CLIENT_CERTIFICATE_POLICY;
  if (!(source instanceof NodeCertificateProvider) && policy === "require") {
    return grpc.ServerCredentials.createSsl(
      Buffer.from(source.rootCertPem),
      [{ private_key: Buffer.from(source.keyPem), cert_chain: Buffer.from(source.certPem) }],
      true,
    );
  }
  const provider = source instanceof NodeCertificateProvider ? source : new NodeCertificateProvider(source);
  // One provider serves both roles (root and identity): grpc-js 1.14's exported function and its
  // constructor disagree on which argument is which, and passing the same object sidesteps that.
  return grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    provider,
    policy === "require",
  );
}

export interface ClientCredentialsOptions {
  /** The cluster the server must belong to (its certificate's O). */
  clusterId: string;
  /** Roles the server may have (its certificate's OU); managers by default. */
  serverRoles?: readonly NodeRole[];
}

/**
 * Client credentials for a node dialling another: presents the node's certificate and accepts a
 * server only if its certificate chains to the root and names the expected cluster and role.
 * Servers are dialled by address, so identity is checked on the subject, not on a host name.
 */
export function createClientCredentials(
  source: NodeTlsMaterial | NodeCertificateProvider,
  options: ClientCredentialsOptions,
): grpc.ChannelCredentials {
  // A provider: connections made after a renewal present the new certificate (long-lived
  // clients such as the Raft transport).
  if (source instanceof NodeCertificateProvider) {
    return grpc.experimental.createCertificateProviderChannelCredentials(source, source, {
      checkServerIdentity: serverIdentityCheck(options),
    });
  }
  const material = source;
  return grpc.credentials.createSsl(
    Buffer.from(material.rootCertPem),
    Buffer.from(material.keyPem),
    Buffer.from(material.certPem),
    { checkServerIdentity: serverIdentityCheck(options) },
  );
}

/**
 * For a joining node after pinning: verifies the manager against the pinned root, presents no
 * certificate (it has none yet; the join token authenticates it).
 */
export function createJoinCredentials(
  pinnedRootCertPem: string,
  options: ClientCredentialsOptions,
): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(pinnedRootCertPem), null, null, {
    checkServerIdentity: serverIdentityCheck(options),
  });
}

/**
 * Only for fetching the root certificate before joining: TLS that does not verify the server.
 * What comes back must go through `verifyRootAgainstToken` before anything trusts it, and nothing
 * secret (the token included) may be sent on such a channel.
 */
export function createBootstrapCredentials(): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false });
}

function serverIdentityCheck(
  options: ClientCredentialsOptions,
): (host: string, cert: PeerCertificate) => Error | undefined {
  const roles = options.serverRoles ?? ["manager"];
  return (_host, cert) => {
    const clusterId = firstValue(cert.subject?.O);
    const role = firstValue(cert.subject?.OU);
    if (clusterId !== options.clusterId) {
      return new Error(
        `server certificate belongs to cluster "${clusterId ?? ""}", expected "${options.clusterId}"`,
      );
    }
    if (role === undefined || !(roles as readonly string[]).includes(role)) {
      return new Error(
        `server certificate has role "${role ?? ""}", expected ${roles.map((r) => `"${r}"`).join(" or ")}`,
      );
    }
    return undefined;
  };
}

/**
 * Channel options to go with the client credentials. Nodes dial by IP address, and TLS may not
 * carry an IP as server name (RFC 6066; Node warns), so the name sent is the role's DNS name, which
 * every certificate of that role carries as a SAN; the identity check itself is on the subject.
 */
export function tlsChannelOptions(serverRole: NodeRole = "manager"): grpc.ChannelOptions {
  return {
    "grpc.ssl_target_name_override": roleDnsName(serverRole),
    "grpc.default_authority": roleDnsName(serverRole),
  };
}

/** Node's parsed subject gives a string, or an array when an attribute repeats. */
export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
