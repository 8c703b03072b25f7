// Renewal as a node lives it, on the wall clock: a certificate of a few seconds, a renewer that
// gets new ones from the CA before it runs out, and a server that keeps admitting the node with
// the renewed certificate after the first one has expired.
import { systemClock, systemRandom } from "@shoal/base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateRenewer,
  createClientCredentials,
  createNodeKeyAndCsr,
  type NodeCertificateInfo,
  type NodeTlsMaterial,
  RootCa,
  readNodeCertificate,
} from "../src/index.js";
import { LOOPBACK, nodeMaterial, startServer, TestClients, type TestServer } from "./harness.js";

const CLUSTER = "cluster-r";
const LIFETIME_MS = 3000;

type Held = NodeTlsMaterial & NodeCertificateInfo;

let root: RootCa;
let server: TestServer;
const opened: TestClients[] = [];

function clientWith(material: NodeTlsMaterial): TestClients {
  const c = new TestClients(server.address, createClientCredentials(material, { clusterId: CLUSTER }));
  opened.push(c);
  return c;
}

beforeAll(async () => {
  root = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
  server = await startServer(await nodeMaterial(root, "manager-1", "manager"), "require", CLUSTER);
});

afterAll(async () => {
  for (const c of opened) c.close();
  await server?.close();
});

describe("CertificateRenewer on the wall clock", () => {
  it("keeps a node admitted past the lifetime of its first certificate", async () => {
    const renewOnce = async (): Promise<Held> => {
      // A new key with every renewal, as the agent will do.
      const { keyPem, csrPem } = await createNodeKeyAndCsr();
      const issued = await root.issueNodeCertificate({
        csrPem,
        nodeId: "worker-1",
        role: "worker",
        hosts: [LOOPBACK],
        nowMs: Date.now(),
        lifetimeMs: LIFETIME_MS,
      });
      return {
        rootCertPem: root.certPem,
        keyPem,
        certPem: issued.certPem,
        ...readNodeCertificate(issued.certPem),
      };
    };
    const first = await renewOnce();
    const stored: Held[] = [];
    const renewer = new CertificateRenewer<Held>({
      clock: systemClock,
      random: systemRandom(),
      current: first,
      renew: renewOnce,
      store: (renewed) => {
        stored.push(renewed);
      },
    });
    const controller = new AbortController();
    const running = renewer.run(controller.signal);
    try {
      await new Promise((r) => setTimeout(r, Math.max(0, first.notAfterMs + 1000 - Date.now())));
      expect(stored.length).toBeGreaterThanOrEqual(1);
      expect(await clientWith(first).updateTaskStatus()).toMatchObject({ ok: false, code: "UNAVAILABLE" });
      const current = renewer.current;
      expect(current.notAfterMs).toBeGreaterThan(Date.now());
      expect(await clientWith(current).updateTaskStatus()).toMatchObject({ ok: true });
      expect(await clientWith(current).renew()).toEqual({ ok: true, value: { nodeId: "worker-1" } });
    } finally {
      controller.abort();
      await running;
    }
  });
});
