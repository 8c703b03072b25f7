import { webcrypto } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createNodeKeyAndCsr, verifyCsr } from "./csr.js";
import { PkiErrorCode } from "./errors.js";
import { EC_SIGNING_ALGORITHM, loadX509 } from "./x509.js";

const x509 = await loadX509();

describe("createNodeKeyAndCsr", () => {
  it("makes a P-256 PKCS #8 key and a CSR signed with it", async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr();
    expect(keyPem).toContain("-----BEGIN PRIVATE KEY-----");
    const csr = await verifyCsr(csrPem);
    expect(csr.publicKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
  });

  it("makes a new key each time", async () => {
    const a = await createNodeKeyAndCsr();
    const b = await createNodeKeyAndCsr();
    expect(a.keyPem).not.toBe(b.keyPem);
  });
});

describe("verifyCsr", () => {
  it("refuses text that is not a CSR", async () => {
    await expect(
      verifyCsr("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
    ).rejects.toMatchObject({
      code: PkiErrorCode.InvalidPem,
      message: "certificate signing request is not a PEM CERTIFICATE REQUEST",
    });
    await expect(
      verifyCsr("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----"),
    ).rejects.toMatchObject({
      code: PkiErrorCode.InvalidCsr,
      message: "certificate signing request could not be parsed",
    });
  });

  it("refuses an RSA key", async () => {
    const alg = {
      name: "RSASSA-PKCS1-v1_5",
      hash: "SHA-256",
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    };
    const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=x",
      keys: keys as never,
      signingAlgorithm: alg,
    });
    await expect(verifyCsr(csr.toString("pem"))).rejects.toMatchObject({
      code: PkiErrorCode.InvalidCsr,
      message: "certificate signing request key is RSASSA-PKCS1-v1_5-2048, expected ECDSA P-256",
    });
  });

  it("refuses an ECDSA key on another curve", async () => {
    const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=x",
      keys: keys as never,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-384" },
    });
    await expect(verifyCsr(csr.toString("pem"))).rejects.toMatchObject({
      code: PkiErrorCode.InvalidCsr,
      message: "certificate signing request key is ECDSA P-384, expected ECDSA P-256",
    });
  });

  it("refuses a CSR whose signature was not made by its key", async () => {
    // A CSR for one key, re-signed by another: the requester does not hold the key it names.
    const holder = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
    const other = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
    const forged = await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=x",
      keys: { publicKey: holder.publicKey, privateKey: other.privateKey } as never,
      signingAlgorithm: EC_SIGNING_ALGORITHM,
    });
    await expect(verifyCsr(forged.toString("pem"))).rejects.toMatchObject({
      code: PkiErrorCode.InvalidCsr,
      message: "certificate signing request signature does not match its public key",
    });
  });
});
