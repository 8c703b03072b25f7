import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { RaftService } from "@shoal/proto";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES } from "../config.js";
import type { Message } from "../types.js";
import { GrpcTransport, type GrpcTransportOptions } from "./grpc-transport.js";
import type { TransportHandler } from "./transport.js";

interface Recorder extends TransportHandler {
  got: Message[];
  unreachable: number[];
  snapshots: [number, boolean][];
}
function recorder(): Recorder {
  const r: Recorder = {
    got: [],
    unreachable: [],
    snapshots: [],
    receive: (m) => r.got.push(m),
    reportUnreachable: (id) => r.unreachable.push(id),
    reportSnapshot: (id, ok) => r.snapshots.push([id, ok]),
  };
  return r;
}

const started: GrpcTransport[] = [];
afterEach(async () => {
  for (const t of started.splice(0).reverse()) await t.close();
});

async function transport(
  id: number,
  opts: Partial<GrpcTransportOptions> = {},
  port = 0,
): Promise<[GrpcTransport, Recorder]> {
  const t = await GrpcTransport.open({
    id,
    credentials: credentials.createInsecure(),
    listen: { address: `127.0.0.1:${port}`, credentials: ServerCredentials.createInsecure() },
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    ...opts,
  });
  const r = recorder();
  t.attach(r);
  started.push(t);
  return [t, r];
}

async function until(probe: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const app = (i: number, bytes = 8): Message => ({
  type: "app",
  from: 1,
  to: 2,
  term: 1,
  index: i,
  logTerm: 1,
  commit: 0,
  entries: [{ index: i + 1, term: 1, type: "normal", data: new Uint8Array(bytes).fill(i % 251) }],
});

describe("GrpcTransport", () => {
  it("is a resource: open() binds the port, one handler at a time, nothing after close()", async () => {
    const [t, r] = await transport(1);
    expect(t.port).toBeGreaterThan(0);
    expect(() => t.attach(r)).toThrow(expect.objectContaining({ code: "RAFT_TRANSPORT_ALREADY_ATTACHED" }));
    t.detach();
    t.attach(r);
    await t.close();
    await t.close(); // idempotent
    expect(() => t.attach(r)).toThrow(expect.objectContaining({ code: "RAFT_TRANSPORT_CLOSED" }));
  });

  it("delivers messages to a peer in order over one stream", async () => {
    const [b, rb] = await transport(2);
    const [a] = await transport(1, { peers: { 2: `127.0.0.1:${b.port}` } });
    const hb = (i: number): Message => ({
      type: "heartbeat",
      from: 1,
      to: 2,
      term: 1,
      commit: i,
      context: new Uint8Array([i % 256]),
    });
    for (let i = 0; i < 200; i++) a.send([hb(i)]);
    await until(() => rb.got.length === 200, "200 messages");
    expect(rb.got.map((m) => (m.type === "heartbeat" ? m.commit : -1))).toEqual(
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it("coalesces a backlog of contiguous appends without losing or reordering entries", async () => {
    const [b, rb] = await transport(2);
    const [a] = await transport(1, { peers: { 2: `127.0.0.1:${b.port}` } });
    for (let i = 0; i < 500; i++) a.send([app(i)]);
    const entries = () => rb.got.flatMap((m) => (m.type === "app" ? m.entries.map((e) => e.index) : []));
    await until(() => entries().length === 500, "500 entries");
    expect(entries()).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(rb.got.length).toBeLessThan(500);
    const first = rb.got[0]!;
    expect(first.type === "app" && first.index).toBe(0);
  });

  it("carries snapshot chunks near the 4 MiB limit and drops anything larger", async () => {
    const [b, rb] = await transport(2);
    const [a, ra] = await transport(1, { peers: { 2: `127.0.0.1:${b.port}` } });
    const chunk = MAX_MESSAGE_BYTES - 64 * 1024;
    const snap = (offset: number, done: boolean): Message => ({
      type: "snap",
      from: 1,
      to: 2,
      term: 1,
      offset,
      totalBytes: 2 * chunk,
      done,
      data: new Uint8Array(chunk).fill(done ? 2 : 1),
      meta: { index: 50, term: 1, confState: { voters: [1, 2, 3], learners: [] } },
    });
    a.send([snap(0, false), snap(chunk, true)]);
    a.send([app(1, MAX_MESSAGE_BYTES + 1)]);
    await until(() => rb.got.length === 2 && ra.snapshots.length === 1, "both chunks");
    expect(ra.snapshots).toEqual([[2, true]]);
    expect(ra.unreachable).toContain(2);
    expect(a.stats.dropped).toBe(1);
    expect(a.stats.maxSentBytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(b.stats.maxReceivedBytes).toBeGreaterThan(chunk);
    expect(b.stats.maxReceivedBytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const last = rb.got[1]!;
    expect(last.type === "snap" && last.offset === chunk && last.done && last.data.length === chunk).toBe(
      true,
    );
  });

  it("lets heartbeats overtake queued snapshot chunks", async () => {
    const [b, rb] = await transport(2);
    const [a] = await transport(1, { peers: { 2: `127.0.0.1:${b.port}` } });
    const chunk = (i: number): Message => ({
      type: "snap",
      from: 1,
      to: 2,
      term: 1,
      offset: i * 1024 * 1024,
      totalBytes: 16 * 1024 * 1024,
      done: i === 15,
      data: new Uint8Array(1024 * 1024),
      meta: { index: 9, term: 1, confState: { voters: [1, 2], learners: [] } },
    });
    a.send(Array.from({ length: 16 }, (_, i) => chunk(i)));
    a.send([{ type: "heartbeat", from: 1, to: 2, term: 1, commit: 9, context: new Uint8Array() }]);
    await until(() => rb.got.length === 17, "16 chunks and a heartbeat");
    const hbAt = rb.got.findIndex((m) => m.type === "heartbeat");
    expect(hbAt).toBeLessThan(16);
    const offsets = rb.got.flatMap((m) => (m.type === "snap" ? [m.offset] : []));
    expect(offsets).toEqual(Array.from({ length: 16 }, (_, i) => i * 1024 * 1024));
  });

  it("serves through handlers mounted on a server the caller owns", async () => {
    const server = new Server();
    const b = await GrpcTransport.open({ id: 2, credentials: credentials.createInsecure() });
    const rb = recorder();
    b.attach(rb);
    started.push(b);
    const unimplemented = (_call: unknown, cb: (err: Error) => void) => cb(new Error("not here"));
    server.addService(RaftService, {
      ...b.serviceHandlers(),
      join: unimplemented,
      leave: unimplemented,
      resolveAddress: unimplemented,
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    try {
      const [a] = await transport(1, { peers: { 2: `127.0.0.1:${port}` } });
      a.send([app(3)]);
      await until(() => rb.got.length === 1, "delivery through the mounted service");
    } finally {
      server.forceShutdown();
    }
  });

  it("reports an unreachable peer and reconnects with backoff once it is back", async () => {
    const [b0] = await transport(2);
    const port = b0.port;
    const [a, ra] = await transport(1, { peers: { 2: `127.0.0.1:${port}` } });
    await b0.close();
    const sendUntil = async (probe: () => boolean, what: string) => {
      const deadline = Date.now() + 5000;
      for (let i = 0; !probe(); i++) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        a.send([app(i)]);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await sendUntil(() => ra.unreachable.includes(2), "unreachable report");
    const [, rb] = await transport(2, {}, port);
    await sendUntil(() => rb.got.length > 0, "delivery after reconnect");
  });

  it("works with mutual TLS and refuses a client without a certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shoal-mtls-"));
    try {
      const pki = makePki(dir);
      const server = () =>
        ServerCredentials.createSsl(pki.ca, [{ private_key: pki.key, cert_chain: pki.cert }], true);
      const client = credentials.createSsl(pki.ca, pki.key, pki.cert);
      const [b, rb] = await transport(2, {
        credentials: client,
        listen: { address: "127.0.0.1:0", credentials: server() },
      });
      const [a] = await transport(1, {
        credentials: client,
        listen: { address: "127.0.0.1:0", credentials: server() },
        peers: { 2: `127.0.0.1:${b.port}` },
      });
      a.send([app(1)]);
      await until(() => rb.got.length === 1, "delivery over mTLS");

      // Same CA trust, no client certificate: the server refuses the handshake.
      const [anon, ranon] = await transport(3, {
        credentials: credentials.createSsl(pki.ca),
        peers: { 2: `127.0.0.1:${b.port}` },
      });
      for (let i = 0; i < 20 && ranon.unreachable.length === 0; i++) {
        anon.send([{ ...app(2), from: 3 }]);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(ranon.unreachable).toContain(2);
      expect(rb.got.length).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A throwaway CA and one member certificate (server and client use) for 127.0.0.1, via openssl. */
function makePki(dir: string): { ca: Buffer; key: Buffer; cert: Buffer } {
  const run = (...args: string[]) => {
    try {
      execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    } catch (err) {
      throw new Error(
        `openssl ${args[0]} failed (is the openssl package installed?): ${String((err as { stderr?: unknown }).stderr ?? err)}`,
      );
    }
  };
  writeFileSync(
    join(dir, "ext.cnf"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key");
  run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=shoal-test-ca", "-days", "1", "-out", "ca.crt");
  run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "node.key");
  run("req", "-new", "-key", "node.key", "-subj", "/CN=node", "-out", "node.csr");
  run(
    "x509",
    "-req",
    "-in",
    "node.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
    "-out",
    "node.crt",
  );
  return {
    ca: readFileSync(join(dir, "ca.crt")),
    key: readFileSync(join(dir, "node.key")),
    cert: readFileSync(join(dir, "node.crt")),
  };
}
