// `--host` against a manager's cluster port: real grpc-js with mTLS, the client certificate and
// the pinned root CA from files, the server wrapped in the manager's role check.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createNodeKeyAndCsr,
  createServerCredentials,
  NodeCertificateProvider,
  type NodeRole,
  RootCa,
} from "@shoal/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../src/io.js";
import { runCli } from "../src/program.js";
import { type FakeCluster, startFakeCluster } from "./fake-cluster.js";

const CLUSTER = "clustera";
const dir = mkdtempSync(join(tmpdir(), "shoal-cli-remote-"));
let fake: FakeCluster;
let root: RootCa;

async function issue(nodeId: string, role: NodeRole, ca: RootCa = root) {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const { certPem } = await ca.issueNodeCertificate({
    csrPem,
    nodeId,
    role,
    hosts: ["127.0.0.1"],
    nowMs: Date.now(),
  });
  return { rootCertPem: ca.certPem, certPem, keyPem };
}

async function writeClient(name: string, role: NodeRole, ca?: RootCa): Promise<string> {
  const m = await issue(`client-${name}`, role, ca);
  const d = join(dir, name);
  writeFileSync(`${d}-ca.pem`, root.certPem);
  writeFileSync(`${d}-cert.pem`, m.certPem);
  writeFileSync(`${d}-key.pem`, m.keyPem);
  return d;
}

beforeAll(async () => {
  root = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
  const server = await issue("manager1", "manager");
  fake = await startFakeCluster({
    tcp: "127.0.0.1:0",
    credentials: createServerCredentials(new NodeCertificateProvider(server), {
      clientCertificates: "require",
    }),
    clusterId: CLUSTER,
  });
});

afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function shoal(env: Record<string, string>, ...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
    cwd: dir,
  };
  return { code: await runCli(argv, io), stdout, stderr };
}

describe("--host with a client certificate", () => {
  it("talks to the manager with a manager's certificate, pinning the root CA", async () => {
    const d = await writeClient("admin", "manager");
    const r = await shoal(
      {},
      "--host",
      fake.address,
      "--tlscacert",
      `${d}-ca.pem`,
      "--tlscert",
      `${d}-cert.pem`,
      "--tlskey",
      `${d}-key.pem`,
      "node",
      "ls",
      "-q",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("node1managerxxxxxxxxxxxxx\nnode2workerxxxxxxxxxxxxxx\n");
  });

  it("takes SHOAL_HOST and SHOAL_TLS_* from the environment", async () => {
    const d = await writeClient("env", "manager");
    const r = await shoal(
      {
        SHOAL_HOST: fake.address,
        SHOAL_TLS_CACERT: `${d}-ca.pem`,
        SHOAL_TLS_CERT: `${d}-cert.pem`,
        SHOAL_TLS_KEY: `${d}-key.pem`,
      },
      "service",
      "ls",
      "-q",
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
  });

  it("a worker's certificate is refused by the role check (exit 7)", async () => {
    const d = await writeClient("worker", "worker");
    const r = await shoal(
      {
        SHOAL_HOST: fake.address,
        SHOAL_CERT_PATH: "/nonexistent",
        SHOAL_TLS_CACERT: `${d}-ca.pem`,
        SHOAL_TLS_CERT: `${d}-cert.pem`,
        SHOAL_TLS_KEY: `${d}-key.pem`,
      },
      "node",
      "ls",
    );
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/^error: .*worker.*\nhint: remote control needs a manager's client certificate/);
  });

  it("a certificate of another cluster's CA does not get through the handshake (exit 3)", async () => {
    const other = await RootCa.create({ clusterId: "clusterb", nowMs: Date.now() });
    const d = await writeClient("stranger", "manager", other);
    const r = await shoal(
      {},
      "--host",
      fake.address,
      "--tlscacert",
      `${d}-ca.pem`,
      "--tlscert",
      `${d}-cert.pem`,
      "--tlskey",
      `${d}-key.pem`,
      "node",
      "ls",
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`error: cannot reach shoal at ${fake.address}`);
  });

  it("a missing certificate file is named", async () => {
    const r = await shoal(
      {},
      "--host",
      fake.address,
      "--tlscacert",
      "no-ca.pem",
      "--tlscert",
      "c",
      "--tlskey",
      "k",
      "node",
      "ls",
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: cannot read the root CA certificate "${join(dir, "no-ca.pem")}"`);
  });
});
