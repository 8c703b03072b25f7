// What a join costs the two sides: the node's key and CSR, the CA's check and signature, and a
// first mTLS call on a fresh channel over loopback (handshake included).
import { percentile, reportFigure } from "@shoal/base";
import { createClientCredentials, createNodeKeyAndCsr, RootCa } from "../src/index.js";
import { nodeMaterial, startServer, TestClients } from "../test/harness.js";

const CLUSTER = "bench";

async function timeEach(count: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return samples;
}

export async function run(): Promise<void> {
  const root = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });

  const csrSamples = await timeEach(200, () => createNodeKeyAndCsr());
  reportFigure("pki_key_and_csr_p50_ms", percentile(csrSamples, 50), "ms");

  const csrs = await Promise.all(Array.from({ length: 200 }, () => createNodeKeyAndCsr()));
  let i = 0;
  const issueSamples = await timeEach(csrs.length, () =>
    root.issueNodeCertificate({
      csrPem: csrs[i++]?.csrPem ?? "",
      nodeId: `n${i}`,
      role: "worker",
      nowMs: Date.now(),
    }),
  );
  reportFigure("pki_issue_node_cert_p50_ms", percentile(issueSamples, 50), "ms");
  reportFigure("pki_issue_node_cert_p99_ms", percentile(issueSamples, 99), "ms");

  const server = await startServer(await nodeMaterial(root, "m1", "manager"), "verify-if-given", CLUSTER);
  const worker = await nodeMaterial(root, "w1", "worker");
  const callSamples = await timeEach(50, async () => {
    const clients = new TestClients(server.address, createClientCredentials(worker, { clusterId: CLUSTER }));
    const outcome = await clients.updateTaskStatus();
    clients.close();
    if (!outcome.ok) throw new Error(`first call failed: ${outcome.code} ${outcome.details}`);
  });
  reportFigure("pki_mtls_first_call_p50_ms", percentile(callSamples, 50), "ms");
  await server.close();
}
