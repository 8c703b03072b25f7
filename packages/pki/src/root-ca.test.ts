import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { PkiErrorCode } from "./errors.js";
import { rootDigestOf } from "./join-token.js";
import { ROOT_CA_COMMON_NAME, RootCa } from "./root-ca.js";
import { loadX509 } from "./x509.js";

const x509 = await loadX509();

const NOW_MS = Date.UTC(2026, 0, 1);

describe("RootCa.create", () => {
  it("makes a self-signed ECDSA P-256 CA certificate whose subject names the cluster", async () => {
    const root = await RootCa.create({ clusterId: "cluster-1", nowMs: NOW_MS });
    const cert = new x509.X509Certificate(root.certPem);
    expect(cert.subjectName.getField("CN")).toEqual([ROOT_CA_COMMON_NAME]);
    expect(cert.subjectName.getField("O")).toEqual(["cluster-1"]);
    expect(cert.subject).toBe(cert.issuer);
    expect(await cert.verify({ publicKey: cert.publicKey, signatureOnly: true })).toBe(true);
    expect(cert.publicKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
    const basic = cert.getExtension(x509.BasicConstraintsExtension);
    expect(basic?.ca).toBe(true);
    expect(basic?.pathLength).toBe(0);
    expect(cert.notAfter.getTime()).toBeGreaterThan(NOW_MS + 19 * 365 * 86_400_000);
    expect(root.clusterId).toBe("cluster-1");
    expect(root.digest).toBe(rootDigestOf(root.certPem));
  });

  it("refuses a cluster id that cannot go into a certificate subject", async () => {
    await expect(RootCa.create({ clusterId: "a,O=evil", nowMs: NOW_MS })).rejects.toMatchObject({
      code: PkiErrorCode.InvalidSubject,
      message: expect.stringContaining('cluster id "a,O=evil"'),
    });
  });
});

describe("RootCa.fromPem", () => {
  it("loads a certificate with its own key", async () => {
    const root = await RootCa.create({ clusterId: "c1", nowMs: NOW_MS });
    const loaded = await RootCa.fromPem(root.certPem, root.exportKeyPem());
    expect(loaded.digest).toBe(root.digest);
    expect(loaded.clusterId).toBe("c1");
  });

  it("refuses a key that belongs to another certificate", async () => {
    const a = await RootCa.create({ clusterId: "c1", nowMs: NOW_MS });
    const b = await RootCa.create({ clusterId: "c1", nowMs: NOW_MS });
    const err = await RootCa.fromPem(a.certPem, b.exportKeyPem()).catch((e: unknown) => e);
    expect(ShoalError.is(err, PkiErrorCode.KeyMismatch)).toBe(true);
    expect((err as Error).message).toBe("root CA key does not belong to the root certificate");
  });

  it("names what is wrong with the certificate or key text", async () => {
    const root = await RootCa.create({ clusterId: "c1", nowMs: NOW_MS });
    await expect(RootCa.fromPem("not a pem", root.exportKeyPem())).rejects.toMatchObject({
      code: PkiErrorCode.InvalidPem,
      message: "root certificate is not a PEM certificate",
    });
    await expect(RootCa.fromPem(root.certPem, "garbage")).rejects.toMatchObject({
      code: PkiErrorCode.InvalidPem,
      message: "root CA key is not a PEM private key",
    });
  });
});

describe("RootCa.issueNodeCertificate", async () => {
  const root = await RootCa.create({ clusterId: "c1", nowMs: NOW_MS });
  const { createNodeKeyAndCsr } = await import("./csr.js");
  const { readNodeCertificate } = await import("./certificate.js");

  it("certifies the CSR's key with CN = node id, OU = role, O = cluster id, both auth EKUs and the SANs given", async () => {
    const { csrPem } = await createNodeKeyAndCsr();
    const issued = await root.issueNodeCertificate({
      csrPem,
      nodeId: "node-a",
      role: "worker",
      hosts: ["10.1.2.3", "host-a.example", "::1"],
      nowMs: NOW_MS,
    });
    const cert = new x509.X509Certificate(issued.certPem);
    const rootCert = new x509.X509Certificate(root.certPem);
    expect(await cert.verify({ publicKey: rootCert.publicKey, date: new Date(NOW_MS) })).toBe(true);
    expect(cert.issuer).toBe(rootCert.subject);
    expect(readNodeCertificate(issued.certPem)).toMatchObject({
      nodeId: "node-a",
      role: "worker",
      clusterId: "c1",
    });
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku?.usages).toEqual([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.toJSON()).toEqual([
      { type: "dns", value: "node-a" },
      { type: "dns", value: "shoal-worker" },
      { type: "ip", value: "10.1.2.3" },
      { type: "dns", value: "host-a.example" },
      { type: "ip", value: "::1" },
    ]);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    // 90 days by default, from now (notBefore set back a minute for clock skew).
    expect(issued.notAfterMs).toBe(NOW_MS + 90 * 86_400_000);
    expect(issued.notBeforeMs).toBe(NOW_MS - 60_000);
  });

  it("uses the lifetime asked for, down to seconds", async () => {
    const { csrPem } = await createNodeKeyAndCsr();
    const issued = await root.issueNodeCertificate({
      csrPem,
      nodeId: "n",
      role: "manager",
      nowMs: NOW_MS,
      lifetimeMs: 5000,
    });
    expect(issued.notAfterMs - NOW_MS).toBe(5000);
    // Set back a tenth of the lifetime (500 ms), then down to the whole second X.509 times hold.
    expect(NOW_MS - issued.notBeforeMs).toBe(1000);
  });

  it("gives a promoted node a certificate with its new role", async () => {
    const { csrPem } = await createNodeKeyAndCsr();
    const asWorker = await root.issueNodeCertificate({ csrPem, nodeId: "n", role: "worker", nowMs: NOW_MS });
    const asManager = await root.issueNodeCertificate({
      csrPem,
      nodeId: "n",
      role: "manager",
      nowMs: NOW_MS,
    });
    expect(readNodeCertificate(asWorker.certPem).role).toBe("worker");
    expect(readNodeCertificate(asManager.certPem).role).toBe("manager");
    expect(asManager.serialNumber).not.toBe(asWorker.serialNumber);
  });

  it("ignores the subject the CSR asks for", async () => {
    const { generateP256KeyPair } = await import("./keys.js");
    const keys = await generateP256KeyPair();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=root, OU=manager, O=other",
      keys: keys as never,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    });
    const issued = await root.issueNodeCertificate({
      csrPem: csr.toString("pem"),
      nodeId: "n",
      role: "worker",
      nowMs: NOW_MS,
    });
    expect(readNodeCertificate(issued.certPem)).toMatchObject({
      nodeId: "n",
      role: "worker",
      clusterId: "c1",
    });
  });

  it.each([
    [{ role: "admin" }, PkiErrorCode.InvalidSubject, 'node role "admin" is not "manager" or "worker"'],
    [{ nodeId: "" }, PkiErrorCode.InvalidSubject, 'node id "" is not 1 to 64 characters'],
    [
      { hosts: ["bad host"] },
      PkiErrorCode.InvalidSubject,
      'host "bad host" is neither an IP address nor a DNS name',
    ],
    [
      { lifetimeMs: 10 },
      PkiErrorCode.InvalidLifetime,
      "node certificate lifetime 10 ms is not a finite number of at least 1000 ms",
    ],
    [{ lifetimeMs: Number.NaN }, PkiErrorCode.InvalidLifetime, "node certificate lifetime NaN ms"],
    [
      { csrPem: "nope" },
      PkiErrorCode.InvalidPem,
      "certificate signing request is not a PEM CERTIFICATE REQUEST",
    ],
  ])("refuses %j", async (override, code, message) => {
    const { csrPem } = await createNodeKeyAndCsr();
    const request = { csrPem, nodeId: "n", role: "worker" as const, nowMs: NOW_MS, ...override };
    await expect(root.issueNodeCertificate(request as never)).rejects.toMatchObject({
      code,
      message: expect.stringContaining(message),
    });
  });
});
