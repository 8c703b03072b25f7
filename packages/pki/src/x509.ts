// @peculiar/x509 makes and checks certificates and CSRs (the CA's signing, a node's CSR). It is
// loaded on first use, not with the package: with its ASN.1 schemas and tsyringe it is ~2.5 MiB of
// a daemon's heap, and a daemon that signs nothing (a restarted node until its renewal) never
// needs it. Reading certificates is `node:crypto`'s `X509Certificate` (certificate.ts).
import { webcrypto } from "node:crypto";

export type X509 = typeof import("@peculiar/x509");

let loading: Promise<X509> | undefined;

/** The library (x509-library.ts), loaded once. */
export function loadX509(): Promise<X509> {
  loading ??= import("./x509-library.js").then((m) => m.x509);
  return loading;
}

/** Every key in the cluster — root and nodes — is ECDSA on P-256 (as Swarm's). */
export const EC_KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
/** Signatures are ECDSA with SHA-256. */
export const EC_SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

export const subtle = webcrypto.subtle;
