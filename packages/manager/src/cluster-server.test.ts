// The cluster port over real gRPC and mutual TLS on loopback: each role (manager, worker, no
// certificate, another CA's, another cluster's) against each service, with the status and the
// `shoal-code` trailer a client sees, and proof that refused calls never reach a handler.
import type * as grpc from "@grpc/grpc-js";
import { ShoalError, silentLogger } from "@shoal/base";
import {
  createBootstrapCredentials,
  createClientCredentials,
  NodeCertificateProvider,
  type NodeTlsMaterial,
  RootCa,
} from "@shoal/pki";
import { SessionMessage, WatchMessage } from "@shoal/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPBACK, nodeMaterial, PortClients } from "../test/tls.js";
import { ClusterServer } from "./cluster-server.js";
import { ManagerErrorCode } from "./errors.js";
import { duplexHandler, type RpcContext, streamHandler, unaryHandler } from "./rpc-handler.js";

const CLUSTER = "cluster-a";
const logger = silentLogger();

let root: RootCa;
let server: ClusterServer;
let address: string;
let managerTls: NodeTlsMaterial;
let workerTls: NodeTlsMaterial;
let otherCaTls: NodeTlsMaterial;
let otherClusterTls: NodeTlsMaterial;
const handled: string[] = [];
const opened: PortClients[] = [];

function clients(credentials: grpc.ChannelCredentials): PortClients {
  const c = new PortClients(address, credentials);
  opened.push(c);
  return c;
}
const as = (material: NodeTlsMaterial, clusterId = CLUSTER) =>
  clients(createClientCredentials(material, { clusterId }));

beforeAll(async () => {
  root = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
  const otherRoot = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
  const otherClusterRoot = await RootCa.create({ clusterId: "cluster-b", nowMs: Date.now() });
  managerTls = await nodeMaterial(root, "manager-1", "manager");
  workerTls = await nodeMaterial(root, "worker-1", "worker");
  // Signed by another root: the TLS layer does not verify it, so the caller has no identity.
  otherCaTls = { ...(await nodeMaterial(otherRoot, "intruder", "manager")), rootCertPem: root.certPem };
  // Another cluster's, from a root the server also trusts (as during a root rotation): verified
  // by TLS, then refused as foreign.
  const foreign = await nodeMaterial(otherClusterRoot, "stranger", "manager");
  otherClusterTls = { ...foreign, rootCertPem: root.certPem };
  const seen = (name: string) => (_req: unknown, ctx: RpcContext) => {
    handled.push(`${name}:${ctx.caller?.nodeId ?? "(anonymous)"}`);
  };
  server = await ClusterServer.open({
    listenAddress: `${LOOPBACK}:0`,
    certificates: new NodeCertificateProvider({
      ...managerTls,
      rootCertPem: `${root.certPem}${otherClusterRoot.certPem}`,
    }),
    clusterId: CLUSTER,
    logger,
    services: {
      control: {
        getNode: unaryHandler(logger, async (req, ctx) => {
          seen("getNode")(req, ctx);
          return {};
        }),
        listServices: unaryHandler(logger, async () => {
          throw new ShoalError(ManagerErrorCode.NotFound, 'service "web" not found', {
            hint: "list with ls",
          });
        }),
        watch: streamHandler(logger, async (req, send, ctx) => {
          seen("watch")(req, ctx);
          send(WatchMessage.fromPartial({}));
        }),
      },
      dispatcher: {
        updateTaskStatus: unaryHandler(logger, async (req, ctx) => {
          seen("updateTaskStatus")(req, ctx);
          return {};
        }),
        session: duplexHandler(logger, async (incoming, send, ctx) => {
          seen("session")(undefined, ctx);
          await new Promise<void>((resolve) => incoming.onMessage(() => resolve()));
          send({
            kind: {
              $case: "session",
              value: SessionMessage.fromPartial({ sessionId: ctx.caller?.nodeId ?? "" }),
            },
          });
        }),
      },
      nodeCa: {
        getRootCaCertificate: unaryHandler(logger, async (req, ctx) => {
          seen("getRoot")(req, ctx);
          return { certificate: Buffer.from(root.certPem) };
        }),
        renewNodeCertificate: unaryHandler(logger, async (req, ctx) => {
          seen("renew")(req, ctx);
          return { nodeId: ctx.caller?.nodeId ?? "" };
        }),
      },
      raft: {
        processRaftMessage: unaryHandler(logger, async (req, ctx) => {
          seen("raft")(req, ctx);
          return {};
        }),
      },
    },
  });
  address = `${LOOPBACK}:${server.port}`;
});

afterAll(async () => {
  for (const c of opened) c.close();
  await server?.close();
});

const ok = { ok: true };
const refused = (status: string, shoalCode: string) => ({ ok: false, status, shoalCode });

describe("the cluster port, per role and service", () => {
  it("lets a manager call everything, and handlers see the caller", async () => {
    const c = as(managerTls);
    expect(await c.getNode()).toMatchObject(ok);
    expect(await c.watch()).toMatchObject(ok);
    expect(await c.updateTaskStatus()).toMatchObject(ok);
    expect(await c.session()).toMatchObject({
      ok: true,
      value: [{ kind: { $case: "session", value: { sessionId: "manager-1" } } }],
    });
    expect(await c.getRoot()).toMatchObject(ok);
    expect(await c.renew()).toEqual({ ok: true, value: { nodeId: "manager-1" } });
    expect(await c.raftMessage()).toMatchObject(ok);
    expect(handled).toContain("raft:manager-1");
  });

  it("presents a renewed certificate on the next connection of credentials made from a provider", async () => {
    // As the Raft transport dials its peers: one credentials object for the manager's life.
    const provider = new NodeCertificateProvider(managerTls);
    const credentials = createClientCredentials(provider, { clusterId: CLUSTER });
    const first = new PortClients(address, credentials);
    opened.push(first);
    expect(await first.renew()).toEqual({ ok: true, value: { nodeId: "manager-1" } });
    first.close();
    provider.update(await nodeMaterial(root, "manager-2", "manager"));
    const second = new PortClients(address, credentials);
    opened.push(second);
    expect(await second.renew()).toEqual({ ok: true, value: { nodeId: "manager-2" } });
  });

  it("lets a worker call the dispatcher and the CA's renewal only", async () => {
    const c = as(workerTls);
    expect(await c.updateTaskStatus()).toMatchObject(ok);
    expect(await c.session()).toMatchObject({
      ok: true,
      value: [{ kind: { $case: "session", value: { sessionId: "worker-1" } } }],
    });
    expect(await c.renew()).toEqual({ ok: true, value: { nodeId: "worker-1" } });
    const before = handled.length;
    for (const outcome of [await c.getNode(), await c.watch(), await c.raftMessage(), await c.raftJoin()]) {
      expect(outcome).toMatchObject(refused("PERMISSION_DENIED", ManagerErrorCode.PermissionDenied));
    }
    expect(handled.length, "a refused call reached a handler").toBe(before);
  });

  it("refuses a caller without a certificate everything but the join steps, before any handler", async () => {
    const c = clients(createBootstrapCredentials());
    expect(await c.getRoot()).toMatchObject(ok);
    const before = handled.length;
    for (const outcome of [
      await c.getNode(),
      await c.watch(),
      await c.updateTaskStatus(),
      await c.session(),
      await c.renew(),
      await c.raftMessage(),
    ]) {
      expect(outcome).toMatchObject(refused("UNAUTHENTICATED", ManagerErrorCode.Unauthenticated));
    }
    expect(handled.length).toBe(before);
  });

  it("refuses a certificate of another CA like none at all", async () => {
    const c = as(otherCaTls);
    const before = handled.length;
    expect(await c.getNode()).toMatchObject(refused("UNAUTHENTICATED", ManagerErrorCode.Unauthenticated));
    expect(await c.updateTaskStatus()).toMatchObject(
      refused("UNAUTHENTICATED", ManagerErrorCode.Unauthenticated),
    );
    expect(handled.length).toBe(before);
  });

  it("refuses a certificate that names another cluster, even on methods open to anyone", async () => {
    const c = as(otherClusterTls);
    const before = handled.length;
    expect(await c.getNode()).toEqual({
      ok: false,
      status: "UNAUTHENTICATED",
      shoalCode: ManagerErrorCode.Unauthenticated,
      details:
        '/shoal.v1.Control/GetNode: client certificate belongs to cluster "cluster-b", not "cluster-a"',
    });
    for (const outcome of [await c.updateTaskStatus(), await c.getRoot()]) {
      expect(outcome).toMatchObject(refused("UNAUTHENTICATED", ManagerErrorCode.Unauthenticated));
    }
    expect(handled.length).toBe(before);
  });

  it("sends a handler's ShoalError as its mapped status with the code in the trailer", async () => {
    expect(await as(managerTls).listServices()).toEqual({
      ok: false,
      status: "NOT_FOUND",
      shoalCode: ManagerErrorCode.NotFound,
      details: 'service "web" not found',
    });
  });

  it("answers a method no component serves with MANAGER_UNIMPLEMENTED, after the role check", async () => {
    expect(await as(managerTls).raftJoin()).toMatchObject(
      refused("UNIMPLEMENTED", ManagerErrorCode.Unimplemented),
    );
    expect(await as(workerTls).raftJoin()).toMatchObject(
      refused("PERMISSION_DENIED", ManagerErrorCode.PermissionDenied),
    );
  });
});
