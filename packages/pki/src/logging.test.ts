import { Writable } from "node:stream";
import { createLogger } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { createNodeKeyAndCsr } from "./csr.js";
import { generateJoinTokens } from "./join-token.js";
import { KeyEncryptionKey } from "./key-encryption.js";
import { RootCa } from "./root-ca.js";
import { sealRootCa } from "./sealed-root-ca.js";
import { NodeCertificateProvider } from "./tls-credentials.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ destination, level: "debug" }), text: () => lines.join("") };
}

describe("what reaches a log line", () => {
  it("never a private key, the key-encryption key, a sealed key or a join token", async () => {
    const { logger, text } = capture();
    const root = await RootCa.create({ clusterId: "c1", nowMs: Date.now() });
    const kek = KeyEncryptionKey.fromBytes(new Uint8Array(32).fill(7));
    const node = await createNodeKeyAndCsr();
    const material = { rootCertPem: root.certPem, certPem: "cert", keyPem: node.keyPem };
    const joinTokens = generateJoinTokens(root.digest);
    const sealed = sealRootCa(root, kek);

    logger.info({ root, kek, provider: new NodeCertificateProvider(material) }, "objects");
    logger.info({ material, node, sealed }, "plain shapes");
    logger.info(node, "top level");
    logger.info({ joinTokens, token: joinTokens.worker }, "tokens");

    const out = text();
    const secretParts = [
      root.exportKeyPem().split("\n")[1] ?? "",
      node.keyPem.split("\n")[1] ?? "",
      kek.exportBytes().toString("base64"),
      sealed.caKeySealedPem.split("\n")[1] ?? "",
      joinTokens.worker.slice(-25),
      joinTokens.manager.slice(-25),
    ];
    for (const part of secretParts) {
      expect(part.length).toBeGreaterThan(10);
      expect(out).not.toContain(part);
    }
    // The useful, public parts stay: the root's digest and the key-encryption key's fingerprint.
    expect(out).toContain(root.digest);
    expect(out).toContain(kek.id);
  });
});
