import { describe, expect, it } from "vitest";
import { NodeCertificateProvider } from "./tls-credentials.js";

const material = { rootCertPem: "root", certPem: "cert-1", keyPem: "key-1" };

describe("NodeCertificateProvider", () => {
  it("sends the current material to a new listener on a later turn, then every update", async () => {
    const provider = new NodeCertificateProvider(material);
    const identities: string[] = [];
    const roots: string[] = [];
    provider.addIdentityCertificateListener((u) => identities.push(String(u?.certificate)));
    provider.addCaCertificateListener((u) => roots.push(String(u?.caCertificate)));
    expect(identities).toEqual([]);
    await Promise.resolve();
    expect(identities).toEqual(["cert-1"]);
    expect(roots).toEqual(["root"]);
    provider.update({ ...material, certPem: "cert-2", keyPem: "key-2" });
    expect(identities).toEqual(["cert-1", "cert-2"]);
    expect(provider.current.certPem).toBe("cert-2");
  });

  it("sends nothing to a listener removed before its first update", async () => {
    const provider = new NodeCertificateProvider(material);
    const seen: unknown[] = [];
    const listener = (u: unknown) => seen.push(u);
    provider.addIdentityCertificateListener(listener);
    provider.removeIdentityCertificateListener(listener);
    await Promise.resolve();
    provider.update(material);
    expect(seen).toEqual([]);
  });

  it("shows no key when serialized", () => {
    expect(JSON.stringify(new NodeCertificateProvider(material))).toBe('{"certPem":"cert-1"}');
  });
});
