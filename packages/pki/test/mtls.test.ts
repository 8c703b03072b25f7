// Real gRPC over loopback with mutual TLS: each role against each kind of service, certificates
// that must be refused (none, another CA's, another cluster's, expired), and the joining node's
// root pinning against a manager that presents a different root.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createBootstrapCredentials,
  createClientCredentials,
  createJoinCredentials,
  generateJoinTokens,
  NodeCertificateProvider,
  type NodeTlsMaterial,
  RootCa,
  readNodeCertificate,
  verifyRootAgainstToken,
} from "../src/index.js";
import { nodeMaterial, startServer, TestClients, type TestServer } from "./harness.js";

const CLUSTER = "cluster-a";

let root: RootCa;
let managerTls: NodeTlsMaterial;
let workerTls: NodeTlsMaterial;
let ifGiven: TestServer;
let strict: TestServer;
const opened: TestClients[] = [];

function clients(server: TestServer, credentials: grpc.ChannelCredentials): TestClients {
  const c = new TestClients(server.address, credentials);
  opened.push(c);
  return c;
}

function as(material: NodeTlsMaterial, server: TestServer): TestClients {
  return clients(server, createClientCredentials(material, { clusterId: CLUSTER }));
}

beforeAll(async () => {
  root = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
  managerTls = await nodeMaterial(root, "manager-1", "manager");
  workerTls = await nodeMaterial(root, "worker-1", "worker");
  ifGiven = await startServer(managerTls, "verify-if-given", CLUSTER);
  strict = await startServer(managerTls, "require", CLUSTER);
});

afterAll(async () => {
  for (const c of opened) c.close();
  await ifGiven?.close();
  await strict?.close();
});

describe("a manager certificate", () => {
  it("may call the control API, the dispatcher and the CA, and the handler sees who called", async () => {
    for (const server of [ifGiven, strict]) {
      const c = as(managerTls, server);
      expect(await c.getNode()).toMatchObject({ ok: true });
      expect(await c.watch()).toMatchObject({ ok: true });
      expect(await c.updateTaskStatus()).toMatchObject({ ok: true });
      expect(await c.session()).toMatchObject({ ok: true });
      expect(await c.renew()).toEqual({ ok: true, value: { nodeId: "manager-1" } });
    }
  });
});

describe("a worker certificate", () => {
  it("may call the dispatcher and the CA's renewal", async () => {
    const c = as(workerTls, ifGiven);
    const before = ifGiven.handled.length;
    expect(await c.updateTaskStatus()).toEqual({ ok: true, value: {} });
    expect(ifGiven.handled.slice(before)).toEqual(["worker-1"]);
    expect(await c.session()).toMatchObject({
      ok: true,
      value: [{ kind: { $case: "session", value: { sessionId: "worker-1" } } }],
    });
    expect(await c.renew()).toEqual({ ok: true, value: { nodeId: "worker-1" } });
  });

  it("is refused the control API with PERMISSION_DENIED before the handler runs", async () => {
    const c = as(workerTls, strict);
    const before = strict.handled.length;
    expect(await c.getNode()).toEqual({
      ok: false,
      code: "PERMISSION_DENIED",
      details:
        'node "worker-1" has role "worker", but method "/shoal.v1.Control/GetNode" is for "manager" nodes only',
    });
    expect(await c.watch()).toMatchObject({ ok: false, code: "PERMISSION_DENIED" });
    expect(strict.handled.slice(before)).toEqual([]);
  });
});

describe("a caller without a certificate", () => {
  it("may fetch the root on the cluster port but nothing that needs a node", async () => {
    const c = clients(ifGiven, createJoinCredentials(root.certPem, { clusterId: CLUSTER }));
    expect(await c.getRoot()).toMatchObject({ ok: true });
    expect(await c.updateTaskStatus()).toMatchObject({
      ok: false,
      code: "UNAUTHENTICATED",
      details: expect.stringContaining(
        'method "/shoal.v1.Dispatcher/UpdateTaskStatus" needs a node certificate',
      ),
    });
    expect(await c.getNode()).toMatchObject({ ok: false, code: "UNAUTHENTICATED" });
    expect(await c.session()).toMatchObject({ ok: false, code: "UNAUTHENTICATED" });
  });

  it("does not get through the handshake where certificates are required", async () => {
    const c = clients(strict, createJoinCredentials(root.certPem, { clusterId: CLUSTER }));
    expect(await c.getRoot()).toMatchObject({ ok: false, code: "UNAVAILABLE" });
  });
});

describe("a certificate from another CA", () => {
  it("gives no identity on the cluster port and fails the handshake where certificates are required", async () => {
    const otherRoot = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
    // Same cluster id, same node id and role: only the signature says it is not ours.
    const impostor = await nodeMaterial(otherRoot, "manager-1", "manager", { trust: root.certPem });
    const before = ifGiven.handled.length;
    expect(await as(impostor, ifGiven).getNode()).toMatchObject({ ok: false, code: "UNAUTHENTICATED" });
    expect(await as(impostor, ifGiven).updateTaskStatus()).toMatchObject({
      ok: false,
      code: "UNAUTHENTICATED",
    });
    expect(ifGiven.handled.slice(before)).toEqual([]);
    expect(await as(impostor, strict).getNode()).toMatchObject({ ok: false, code: "UNAVAILABLE" });
  });
});

describe("a certificate of another cluster", () => {
  it("is refused even when its root is trusted (as during a root rotation)", async () => {
    const otherClusterRoot = await RootCa.create({ clusterId: "cluster-b", nowMs: Date.now() });
    const bundle = `${root.certPem}${otherClusterRoot.certPem}`;
    const server = await startServer({ ...managerTls, rootCertPem: bundle }, "verify-if-given", CLUSTER);
    try {
      const stranger = await nodeMaterial(otherClusterRoot, "manager-9", "manager", { trust: root.certPem });
      const c = as(stranger, server);
      expect(await c.getNode()).toEqual({
        ok: false,
        code: "UNAUTHENTICATED",
        details:
          '/shoal.v1.Control/GetNode: client certificate belongs to cluster "cluster-b", not "cluster-a"',
      });
      expect(await c.getRoot()).toMatchObject({ ok: false, code: "UNAUTHENTICATED" });
      expect(server.handled).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe("the client's check of the server", () => {
  it("refuses a manager of another cluster id and a server whose certificate is a worker's", async () => {
    const wrongCluster = clients(ifGiven, createClientCredentials(workerTls, { clusterId: "cluster-z" }));
    expect(await wrongCluster.updateTaskStatus()).toMatchObject({
      ok: false,
      code: "UNAVAILABLE",
      details: expect.stringContaining(
        'server certificate belongs to cluster "cluster-a", expected "cluster-z"',
      ),
    });
    const workerServer = await startServer(workerTls, "require", CLUSTER);
    try {
      const c = clients(workerServer, createClientCredentials(managerTls, { clusterId: CLUSTER }));
      expect(await c.updateTaskStatus()).toMatchObject({
        ok: false,
        code: "UNAVAILABLE",
        details: expect.stringContaining('server certificate has role "worker", expected "manager"'),
      });
      expect(workerServer.handled).toEqual([]);
    } finally {
      await workerServer.close();
    }
  });
});

describe("an expired certificate", () => {
  it("is refused at the TLS layer once its lifetime has passed", async () => {
    const shortLived = await nodeMaterial(root, "worker-2", "worker", { lifetimeMs: 2000 });
    const { notAfterMs } = readNodeCertificate(shortLived.certPem);
    expect(await as(shortLived, strict).updateTaskStatus()).toMatchObject({ ok: true });
    // A real wait: the TLS stack reads the wall clock. One second past notAfter leaves no doubt.
    await new Promise((r) => setTimeout(r, Math.max(0, notAfterMs + 1000 - Date.now())));
    expect(await as(shortLived, strict).updateTaskStatus()).toMatchObject({ ok: false, code: "UNAVAILABLE" });
    expect(await as(shortLived, ifGiven).updateTaskStatus()).toMatchObject({
      ok: false,
      code: "UNAUTHENTICATED",
    });
  });
});

describe("joining with a token", () => {
  it("trusts the real manager's root and then talks to it on a channel verified against that root", async () => {
    const tokens = generateJoinTokens(root.digest);
    const bootstrap = clients(ifGiven, createBootstrapCredentials());
    const fetched = await bootstrap.getRoot();
    expect(fetched.ok).toBe(true);
    const pem = Buffer.from((fetched as { value: { certificate: Uint8Array } }).value.certificate).toString();
    const pinned = verifyRootAgainstToken(tokens.worker, pem);
    expect(pinned).toEqual({ kind: "trusted", rootCertPem: root.certPem });
    const joined = clients(ifGiven, createJoinCredentials(root.certPem, { clusterId: CLUSTER }));
    expect(await joined.getRoot()).toMatchObject({ ok: true });
  });

  it("refuses a manager that presents a different root, saying a man in the middle may be present", async () => {
    const tokens = generateJoinTokens(root.digest);
    const mitmRoot = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
    const mitm = await startServer(
      await nodeMaterial(mitmRoot, "manager-1", "manager"),
      "verify-if-given",
      CLUSTER,
    );
    try {
      const fetched = await clients(mitm, createBootstrapCredentials()).getRoot();
      const pem = Buffer.from(
        (fetched as { value: { certificate: Uint8Array } }).value.certificate,
      ).toString();
      const result = verifyRootAgainstToken(tokens.manager, pem);
      expect(result.kind).toBe("refused");
      expect(result.kind === "refused" && result.message).toContain("a man in the middle may be present");
      // And a channel pinned to the real root does not reach the impostor at all.
      const pinnedToReal = clients(mitm, createJoinCredentials(root.certPem, { clusterId: CLUSTER }));
      expect(await pinnedToReal.getRoot()).toMatchObject({ ok: false, code: "UNAVAILABLE" });
      expect(mitm.handled).toEqual(["(anonymous)"]);
    } finally {
      await mitm.close();
    }
  });
});

describe("a renewed server certificate", () => {
  it("is served on new connections without restarting the server", async () => {
    const provider = new NodeCertificateProvider(managerTls);
    const server = await startServer(provider, "require", CLUSTER);
    try {
      const seenSerials: string[] = [];
      const credentials = () =>
        grpc.credentials.createSsl(
          Buffer.from(workerTls.rootCertPem),
          Buffer.from(workerTls.keyPem),
          Buffer.from(workerTls.certPem),
          {
            checkServerIdentity: (_host, cert) => {
              seenSerials.push(cert.serialNumber.toLowerCase());
              return undefined;
            },
          },
        );
      expect(await clients(server, credentials()).updateTaskStatus()).toMatchObject({ ok: true });
      const renewed = await nodeMaterial(root, "manager-1", "manager");
      provider.update(renewed);
      expect(await clients(server, credentials()).updateTaskStatus()).toMatchObject({ ok: true });
      const serialOf = (m: NodeTlsMaterial) => readNodeCertificate(m.certPem).serialNumber.toLowerCase();
      expect(seenSerials.map((s) => s.replace(/^0+/, ""))).toEqual(
        [serialOf(managerTls), serialOf(renewed)].map((s) => s.replace(/^0+/, "")),
      );
    } finally {
      await server.close();
    }
  });
});
