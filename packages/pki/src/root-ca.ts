import { randomBytes, type X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import type * as X509 from "@peculiar/x509";
import { ShoalError } from "@shoal/base";
import { parseCertificatePem, subjectAttribute, toPem } from "./certificate.js";
import { createNodeKeyAndCsr, verifyCsr } from "./csr.js";
import { PkiErrorCode } from "./errors.js";
import { rootDigestOf } from "./join-token.js";
import {
  type CryptoKey,
  exportPrivateKeyPem,
  generateP256KeyPair,
  importP256PrivateKeyPem,
  publicKeySpkiOfPrivateKeyPem,
} from "./keys.js";
import { assertNodeRole, assertSubjectId, type NodeRole, roleDnsName } from "./node-role.js";
import { encodePem } from "./pem.js";
import type { NodeTlsMaterial } from "./tls-credentials.js";
import { EC_KEY_ALGORITHM, EC_SIGNING_ALGORITHM, loadX509 } from "./x509.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Swarm's root CAs last 20 years; rotation of the root is a separate, explicit operation. */
export const ROOT_CA_LIFETIME_MS = 20 * 365 * DAY_MS;
export const ROOT_CA_COMMON_NAME = "shoal-root-ca";
/** Node certificates last 90 days unless the cluster says otherwise (Swarm's default). */
export const DEFAULT_NODE_CERT_LIFETIME_MS = 90 * DAY_MS;
/**
 * The library allows lifetimes down to one second so tests can watch a certificate expire; the
 * cluster spec validation (`MIN_NODE_CERT_EXPIRY_MS` in @shoal/proto) keeps users at an hour or more.
 */
export const MIN_NODE_CERT_LIFETIME_MS = 1000;
/** notBefore is set back by this much (or a tenth of the lifetime, if less) to absorb clock skew. */
export const MAX_CERT_BACKDATE_MS = 60_000;

export interface CreateRootCaOptions {
  clusterId: string;
  nowMs: number;
  lifetimeMs?: number;
}

export interface IssueNodeCertificateRequest {
  csrPem: string;
  nodeId: string;
  role: NodeRole;
  /** Addresses and host names the node is reached by; IPs become IP SANs, the rest DNS SANs. */
  hosts?: readonly string[];
  nowMs: number;
  lifetimeMs?: number;
}

export interface IssuedNodeCertificate {
  certPem: string;
  notBeforeMs: number;
  notAfterMs: number;
  serialNumber: string;
}

/**
 * The cluster's root certificate authority: an ECDSA P-256 key and its self-signed certificate,
 * whose subject names the cluster (O = cluster id). It signs node certificates directly.
 * The plaintext key lives only in this object's memory; at rest it is sealed (`sealRootCa`).
 */
export class RootCa {
  readonly certPem: string;
  readonly clusterId: string;
  /** Base-36 SHA-256 of the certificate, as in join tokens. */
  readonly digest: string;
  private readonly signingKey: CryptoKey;
  private readonly keyPem: string;

  private constructor(cert: X509Certificate, certPem: string, signingKey: CryptoKey, keyPem: string) {
    this.certPem = certPem;
    this.signingKey = signingKey;
    this.keyPem = keyPem;
    this.digest = rootDigestOf(certPem);
    this.clusterId = subjectAttribute(cert, "O") ?? "";
  }

  /** Made once, at cluster init. */
  static async create(options: CreateRootCaOptions): Promise<RootCa> {
    assertSubjectId(options.clusterId, "cluster id");
    const lifetimeMs = options.lifetimeMs ?? ROOT_CA_LIFETIME_MS;
    assertLifetime(lifetimeMs, "root CA lifetime");
    const x509 = await loadX509();
    const keys = await generateP256KeyPair();
    const notBeforeMs = options.nowMs - MAX_CERT_BACKDATE_MS;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: newSerialNumber(),
      name: new x509.Name([{ CN: [ROOT_CA_COMMON_NAME] }, { O: [options.clusterId] }]),
      notBefore: new Date(notBeforeMs),
      notAfter: new Date(options.nowMs + lifetimeMs),
      keys: keys as never,
      signingAlgorithm: EC_SIGNING_ALGORITHM,
      extensions: [
        // pathLen 0: the root signs node certificates only, never another CA.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
      ],
    });
    const keyPem = await exportPrivateKeyPem(keys.privateKey);
    const certPem = toPem(cert);
    return new RootCa(parseCertificatePem(certPem, "root certificate"), certPem, keys.privateKey, keyPem);
  }

  /** From a stored certificate and its (already decrypted) key; checks that they belong together. */
  static async fromPem(certPem: string, keyPem: string): Promise<RootCa> {
    const cert = parseCertificatePem(certPem, "root certificate");
    // `ca` is the basic constraints extension's cA flag (false without the extension).
    if (!cert.ca) {
      throw new ShoalError(PkiErrorCode.InvalidCertificate, "root certificate is not a CA certificate");
    }
    const key = cert.publicKey;
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
      throw new ShoalError(PkiErrorCode.InvalidCertificate, "root certificate key is not ECDSA P-256");
    }
    if (subjectAttribute(cert, "O") === undefined) {
      throw new ShoalError(
        PkiErrorCode.InvalidCertificate,
        `root certificate subject "${cert.subject.replaceAll("\n", ", ")}" has no cluster id (O)`,
      );
    }
    const signingKey = await importP256PrivateKeyPem(keyPem, "root CA key");
    const keySpki = publicKeySpkiOfPrivateKeyPem(keyPem, "root CA key");
    if (!keySpki.equals(key.export({ type: "spki", format: "der" }))) {
      throw new ShoalError(PkiErrorCode.KeyMismatch, "root CA key does not belong to the root certificate");
    }
    return new RootCa(cert, encodePem(cert.raw, "CERTIFICATE"), signingKey, keyPem);
  }

  /** What a log line shows of a root CA: never its key, whatever the logger's redaction. */
  toJSON(): { clusterId: string; digest: string } {
    return { clusterId: this.clusterId, digest: this.digest };
  }

  /** The plaintext key, for sealing only (`sealRootCa`). Never log or send it. */
  exportKeyPem(): string {
    return this.keyPem;
  }

  /**
   * A new key and a certificate for it, for a node whose key is made where the CA is (the manager
   * that runs `init`, tests): the key never leaves this process, as with a CSR from the node.
   */
  async issueNodeMaterial(request: Omit<IssueNodeCertificateRequest, "csrPem">): Promise<NodeTlsMaterial> {
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    const issued = await this.issueNodeCertificate({ ...request, csrPem });
    return { rootCertPem: this.certPem, certPem: issued.certPem, keyPem };
  }

  /**
   * Issues a node certificate for a verified CSR. The subject comes from the CA's records, not the
   * CSR: CN = node id, OU = role, O = cluster id. A role change is a new certificate with the new OU.
   */
  async issueNodeCertificate(request: IssueNodeCertificateRequest): Promise<IssuedNodeCertificate> {
    assertSubjectId(request.nodeId, "node id");
    assertNodeRole(request.role);
    const lifetimeMs = request.lifetimeMs ?? DEFAULT_NODE_CERT_LIFETIME_MS;
    assertLifetime(lifetimeMs, "node certificate lifetime");
    const sans = subjectAltNames(request.nodeId, request.role, request.hosts ?? []);
    const csr = await verifyCsr(request.csrPem);
    const x509 = await loadX509();
    const root = new x509.X509Certificate(this.certPem);
    const publicKey = await csr.publicKey.export(EC_KEY_ALGORITHM, ["verify"]);
    const notBeforeMs = request.nowMs - Math.min(MAX_CERT_BACKDATE_MS, Math.floor(lifetimeMs / 10));
    const notAfterMs = request.nowMs + lifetimeMs;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: newSerialNumber(),
      subject: new x509.Name([{ CN: [request.nodeId] }, { OU: [request.role] }, { O: [this.clusterId] }]),
      issuer: root.subjectName,
      notBefore: new Date(notBeforeMs),
      notAfter: new Date(notAfterMs),
      publicKey,
      signingKey: this.signingKey as never,
      signingAlgorithm: EC_SIGNING_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        // Every node is both: it serves (managers, and agents' own endpoints) and it dials.
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension(sans),
        await x509.AuthorityKeyIdentifierExtension.create(root),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
      ],
    });
    return {
      certPem: toPem(cert),
      notBeforeMs: cert.notBefore.getTime(),
      notAfterMs: cert.notAfter.getTime(),
      serialNumber: cert.serialNumber,
    };
  }
}

const DNS_NAME =
  /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

function subjectAltNames(nodeId: string, role: NodeRole, hosts: readonly string[]): X509.JsonGeneralName[] {
  const names: X509.JsonGeneralName[] = [
    { type: "dns", value: nodeId },
    { type: "dns", value: roleDnsName(role) },
  ];
  // nats.js dials a server by IP without a server name, so Node checks a manager's certificate
  // (its nats-server's, issue 19) against "localhost".
  const all = role === "manager" ? [...hosts, "localhost"] : hosts;
  const seen = new Set(names.map((n) => n.value));
  for (const host of all) {
    const kind = isIP(host) !== 0 ? "ip" : DNS_NAME.test(host) ? "dns" : undefined;
    if (kind === undefined) {
      throw new ShoalError(
        PkiErrorCode.InvalidSubject,
        `host "${host}" is neither an IP address nor a DNS name`,
      );
    }
    if (seen.has(host)) continue;
    seen.add(host);
    names.push({ type: kind, value: host });
  }
  return names;
}

function assertLifetime(lifetimeMs: number, what: string): void {
  if (!Number.isFinite(lifetimeMs) || lifetimeMs < MIN_NODE_CERT_LIFETIME_MS) {
    throw new ShoalError(
      PkiErrorCode.InvalidLifetime,
      `${what} ${lifetimeMs} ms is not a finite number of at least ${MIN_NODE_CERT_LIFETIME_MS} ms`,
    );
  }
}

/** 128 random bits, top bit clear so the DER integer stays positive (RFC 5280 §4.1.2.2). */
function newSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}
