import type * as X509 from "@peculiar/x509";
import { ShoalError } from "@shoal/base";
import { toPem } from "./certificate.js";
import { PkiErrorCode } from "./errors.js";
import { exportPrivateKeyPem, generateP256KeyPair } from "./keys.js";
import { EC_SIGNING_ALGORITHM, loadX509 } from "./x509.js";

/** The subject a node puts in its CSR. The CA ignores it and writes CN, OU and O itself. */
export const CSR_PLACEHOLDER_SUBJECT = "CN=shoal-node";

/** A node's new private key and the CSR that asks the CA to certify its public half. */
export interface NodeKeyAndCsr {
  /** PKCS #8 PEM. Stays on the node; it is never sent and never logged. */
  keyPem: string;
  csrPem: string;
}

/** Made by the joining (or renewing) node: a fresh P-256 key, so a renewal also rotates the key. */
export async function createNodeKeyAndCsr(): Promise<NodeKeyAndCsr> {
  const x509 = await loadX509();
  const keys = await generateP256KeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: CSR_PLACEHOLDER_SUBJECT,
    keys: keys as never,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
  });
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: toPem(csr) };
}

/**
 * Checks a CSR on the CA side: it parses, its key is ECDSA P-256 and it is signed by that key
 * (so the requester holds the private key it asks a certificate for).
 */
export async function verifyCsr(csrPem: string): Promise<X509.Pkcs10CertificateRequest> {
  if (typeof csrPem !== "string" || !csrPem.includes("-----BEGIN CERTIFICATE REQUEST-----")) {
    throw new ShoalError(
      PkiErrorCode.InvalidPem,
      "certificate signing request is not a PEM CERTIFICATE REQUEST",
    );
  }
  const x509 = await loadX509();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new ShoalError(PkiErrorCode.InvalidCsr, "certificate signing request could not be parsed", {
      cause: err,
    });
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string; modulusLength?: number };
  if (algorithm.name !== "ECDSA" || algorithm.namedCurve !== "P-256") {
    const described =
      algorithm.name === "ECDSA"
        ? `ECDSA ${algorithm.namedCurve ?? "on an unknown curve"}`
        : `${algorithm.name ?? "unknown"}${algorithm.modulusLength ? `-${algorithm.modulusLength}` : ""}`;
    throw new ShoalError(
      PkiErrorCode.InvalidCsr,
      `certificate signing request key is ${described}, expected ECDSA P-256`,
    );
  }
  let signatureValid: boolean;
  try {
    signatureValid = await csr.verify();
  } catch (err) {
    throw new ShoalError(
      PkiErrorCode.InvalidCsr,
      "certificate signing request signature could not be checked",
      {
        cause: err,
      },
    );
  }
  if (!signatureValid) {
    throw new ShoalError(
      PkiErrorCode.InvalidCsr,
      "certificate signing request signature does not match its public key",
    );
  }
  return csr;
}
