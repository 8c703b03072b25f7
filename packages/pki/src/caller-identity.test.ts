import { TLSSocket } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it, vi } from "vitest";
import { type CallWithAuthContext, callerIdentity, hasCachedSubject } from "./caller-identity.js";
import { RootCa } from "./root-ca.js";
import { createClientCredentials, createServerCredentials, tlsChannelOptions } from "./tls-credentials.js";

function callWith(
  subject: Record<string, string | string[]> | undefined,
  transport = "ssl",
): CallWithAuthContext {
  return {
    getAuthContext: () =>
      subject === undefined ? {} : { transportSecurityType: transport, sslPeerCertificate: { subject } },
  };
}

describe("callerIdentity", () => {
  it("reads node id, role and cluster from a verified certificate's subject", () => {
    expect(callerIdentity(callWith({ CN: "n1", OU: "worker", O: "c1" }), "c1")).toEqual({
      kind: "verified",
      identity: { nodeId: "n1", role: "worker", clusterId: "c1" },
    });
  });

  it("takes the first value of a repeated attribute", () => {
    expect(callerIdentity(callWith({ CN: "n1", OU: ["manager", "worker"], O: "c1" }), "c1")).toMatchObject({
      identity: { role: "manager" },
    });
  });

  it("treats a call without a verified certificate as anonymous", () => {
    expect(callerIdentity(callWith(undefined), "c1")).toMatchObject({ kind: "anonymous" });
    expect(callerIdentity({ getAuthContext: () => null }, "c1")).toMatchObject({ kind: "anonymous" });
  });

  it("refuses a certificate of another cluster or without a node subject", () => {
    expect(callerIdentity(callWith({ CN: "n1", OU: "worker", O: "c2" }), "c1")).toEqual({
      kind: "foreign",
      reason: 'client certificate belongs to cluster "c2", not "c1"',
    });
    expect(callerIdentity(callWith({ CN: "n1", OU: "admin", O: "c1" }), "c1")).toEqual({
      kind: "foreign",
      reason: 'client certificate is not a node certificate (CN "n1", OU "admin")',
    });
    expect(callerIdentity(callWith({ OU: "worker", O: "c1" }), "c1")).toMatchObject({ kind: "foreign" });
  });
});

// Over a real grpc-js server with mutual TLS: the certificate is read once per connection, and a
// renewed certificate (a new connection) is read again.
describe("callerIdentity on a grpc-js server", () => {
  const echo: grpc.ServiceDefinition = {
    whoAmI: {
      path: "/test.Echo/WhoAmI",
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  const Client = grpc.makeGenericClientConstructor(echo, "Echo");

  it("reads a connection's certificate once, and a renewed one again", async () => {
    const root = await RootCa.create({ clusterId: "c1", nowMs: Date.now() });
    // With an interceptor, as the cluster port has one.
    const server = new grpc.Server({
      interceptors: [(_method, call) => new grpc.ServerInterceptingCall(call)],
    });
    const reads = vi.spyOn(TLSSocket.prototype, "getPeerCertificate");
    // The server's reads only (the client reads the server's certificate in this process too).
    const serverReads = () =>
      reads.mock.contexts.filter((socket) => (socket as { server?: unknown }).server !== undefined).length;
    const seen: { nodeId: string; cached: boolean }[] = [];
    server.addService(echo, {
      whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const cached = hasCachedSubject(call);
        const result = callerIdentity(call, "c1");
        seen.push({ nodeId: result.kind === "verified" ? result.identity.nodeId : result.kind, cached });
        cb(null, Buffer.alloc(0));
      },
    });
    const serverMaterial = await root.issueNodeMaterial({ nodeId: "m1", role: "manager", nowMs: Date.now() });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", createServerCredentials(serverMaterial), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const call = (client: grpc.Client) =>
      new Promise<void>((resolve, reject) =>
        (client as unknown as { whoAmI: (req: Buffer, cb: (err: Error | null) => void) => void }).whoAmI(
          Buffer.alloc(0),
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    const dial = async (nodeId: string) => {
      const material = await root.issueNodeMaterial({ nodeId, role: "worker", nowMs: Date.now() });
      return new Client(`127.0.0.1:${port}`, createClientCredentials(material, { clusterId: "c1" }), {
        ...tlsChannelOptions(),
        "grpc.use_local_subchannel_pool": 1,
      });
    };
    try {
      const first = await dial("n1");
      reads.mockClear();
      for (let i = 0; i < 5; i++) await call(first);
      expect(serverReads()).toBe(1);
      // The same node with a renewed certificate: a new connection, read again.
      const renewed = await dial("n1-renewed");
      await call(renewed);
      await call(first);
      expect(serverReads()).toBe(2);
      expect(seen.map((s) => s.nodeId)).toEqual(["n1", "n1", "n1", "n1", "n1", "n1-renewed", "n1"]);
      expect(seen.map((s) => s.cached)).toEqual([false, true, true, true, true, false, true]);
      first.close();
      renewed.close();
    } finally {
      reads.mockRestore();
      server.forceShutdown();
    }
  });
});
