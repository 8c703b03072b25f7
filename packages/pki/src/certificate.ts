import { createHash, X509Certificate } from "node:crypto";
import { ShoalError } from "@shoal/base";
import { PkiErrorCode } from "./errors.js";
import { isNodeRole, type NodeRole } from "./node-role.js";

/**
 * Parses one PEM certificate with `node:crypto` (OpenSSL); `what` names it in messages ("root
 * certificate"). Reading needs no ASN.1 library: @peculiar/x509 is loaded only to sign (x509.ts).
 */
export function parseCertificatePem(pem: string, what: string): X509Certificate {
  if (typeof pem !== "string" || !pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ShoalError(PkiErrorCode.InvalidPem, `${what} is not a PEM certificate`);
  }
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new ShoalError(PkiErrorCode.InvalidCertificate, `${what} could not be parsed`, { cause: err });
  }
}

/**
 * PEM text ending in a newline, as PEM files do: the library's output lacks it, and a bundle made
 * by concatenating two such texts would fuse one's END line with the next one's BEGIN line.
 */
export function toPem(item: { toString(format: "pem"): string }): string {
  const pem = item.toString("pem");
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}

/** SHA-256 of the certificate's DER: independent of PEM line breaks, so it survives re-encoding. */
export function certificateSha256(cert: X509Certificate): Buffer {
  return createHash("sha256").update(cert.raw).digest();
}

/**
 * The first value of an attribute (CN, OU, O) of a certificate subject, if present. Node prints
 * the subject one `KEY=value` per line; the values Shoal writes are ids checked by
 * `assertSubjectId` (no line breaks, no `=` or `,`), so a line is one attribute.
 */
export function subjectAttribute(cert: X509Certificate, type: "CN" | "OU" | "O"): string | undefined {
  for (const line of cert.subject.split("\n")) {
    if (line.startsWith(`${type}=`)) return line.slice(type.length + 1);
  }
  return undefined;
}

/** Who a node certificate says its holder is, and when it is valid. */
export interface NodeCertificateInfo {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  notBeforeMs: number;
  notAfterMs: number;
  /** Lowercase hex. */
  serialNumber: string;
}

/** Reads a node certificate issued by a Shoal CA; refuses one without a node id, role or cluster id. */
export function readNodeCertificate(pem: string): NodeCertificateInfo {
  const cert = parseCertificatePem(pem, "node certificate");
  const nodeId = subjectAttribute(cert, "CN");
  const role = subjectAttribute(cert, "OU");
  const clusterId = subjectAttribute(cert, "O");
  if (nodeId === undefined || clusterId === undefined || !isNodeRole(role)) {
    throw new ShoalError(
      PkiErrorCode.InvalidCertificate,
      `node certificate subject "${cert.subject.replaceAll("\n", ", ")}" lacks a node id (CN), a role "manager" or "worker" (OU) or a cluster id (O)`,
    );
  }
  return {
    nodeId,
    role,
    clusterId,
    notBeforeMs: Date.parse(cert.validFrom),
    notAfterMs: Date.parse(cert.validTo),
    serialNumber: cert.serialNumber.toLowerCase(),
  };
}
