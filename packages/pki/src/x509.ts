// @peculiar/x509 resolves its ASN.1 serializers through tsyringe, which needs the Reflect metadata
// polyfill loaded before the library is evaluated; ES modules evaluate imports in order, so this
// file is the one place that imports the library and every other file imports it from here.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

// The library types its provider with the DOM's `Crypto`, which this Node-only build does not
// declare; Node's webcrypto is that same interface.
x509.cryptoProvider.set(webcrypto as never);

export { x509 };

/** Every key in the cluster — root and nodes — is ECDSA on P-256 (as Swarm's). */
export const EC_KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
/** Signatures are ECDSA with SHA-256. */
export const EC_SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;

export const subtle = webcrypto.subtle;
