import { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from "node:crypto";
import { ShoalError } from "@shoal/base";
import { PkiErrorCode } from "./errors.js";
import { encodePem } from "./pem.js";
import { EC_KEY_ALGORITHM, subtle } from "./x509.js";

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** A fresh ECDSA P-256 key pair. Extractable, because the node writes its key to disk for TLS. */
export async function generateP256KeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(EC_KEY_ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** PKCS #8 PEM ("PRIVATE KEY"), the form Node's TLS and grpc-js accept. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey("pkcs8", key);
  return encodePem(der, "PRIVATE KEY");
}

/**
 * Imports a PKCS #8 or SEC 1 ("EC PRIVATE KEY") PEM as a signing key, refusing anything that is
 * not ECDSA P-256. `what` names the key in messages ("root CA key").
 */
export async function importP256PrivateKeyPem(pem: string, what: string): Promise<CryptoKey> {
  const keyObject = parsePrivateKey(pem, what);
  const details = keyObject.asymmetricKeyDetails;
  if (keyObject.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1") {
    throw new ShoalError(
      PkiErrorCode.InvalidKey,
      `${what} is ${describeKeyObject(keyObject)}, expected ECDSA P-256`,
    );
  }
  const der = keyObject.export({ type: "pkcs8", format: "der" });
  return subtle.importKey("pkcs8", der, EC_KEY_ALGORITHM, true, ["sign"]);
}

/** The DER SubjectPublicKeyInfo of a private key's public half, to compare with a certificate's. */
export function publicKeySpkiOfPrivateKeyPem(pem: string, what: string): Buffer {
  return createPublicKey(parsePrivateKey(pem, what)).export({ type: "spki", format: "der" });
}

function parsePrivateKey(pem: string, what: string): KeyObject {
  if (typeof pem !== "string" || !pem.includes("PRIVATE KEY-----")) {
    throw new ShoalError(PkiErrorCode.InvalidPem, `${what} is not a PEM private key`);
  }
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch (err) {
    throw new ShoalError(PkiErrorCode.InvalidKey, `${what} could not be read as a private key`, {
      cause: err,
    });
  }
}

function describeKeyObject(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === "ec") return `an EC key on curve "${d?.namedCurve ?? "unknown"}"`;
  if (key.asymmetricKeyType === "rsa") return `an RSA-${d?.modulusLength ?? "?"} key`;
  return `a key of type "${key.asymmetricKeyType ?? "unknown"}"`;
}
