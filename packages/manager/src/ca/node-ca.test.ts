import { randomBytes, X509Certificate } from "node:crypto";
import { ShoalError, silentLogger } from "@shoal/base";
import { createNodeKeyAndCsr, KeyEncryptionKey } from "@shoal/pki";
import { NodeRole } from "@shoal/proto";
import { Store, StoreErrorCode } from "@shoal/store";
import { describe, expect, it } from "vitest";
import { initCluster } from "../cluster-init.js";
import { ManagerErrorCode } from "../errors.js";
import { MAX_CERT_HOSTS, NodeCaService } from "./node-ca.js";

describe("NodeCA without a leader to write through", () => {
  it("refuses a join with MANAGER_NO_LEADER naming the leader it knows, and writes nothing", async () => {
    const kek = KeyEncryptionKey.fromBytes(randomBytes(32));
    const { cluster } = await initCluster({ nowMs: Date.now(), kek });
    const store = new Store({ logger: silentLogger() });
    await store.update((tx) => tx.clusters.create(cluster));
    // As a follower during an election: reads work, writes find no leader.
    const leaderless = Object.create(store) as Store;
    leaderless.update = () =>
      Promise.reject(new ShoalError(StoreErrorCode.NoLeader, "no leader known", { details: { leader: 0 } }));
    const ca = new NodeCaService({ store: leaderless, kek, leaderAddress: () => "10.0.0.9:4270" });
    const issue = ca.service().issueNodeCertificate as unknown as (
      call: unknown,
      cb: (err: unknown, value?: unknown) => void,
    ) => void;
    const { csrPem } = await createNodeKeyAndCsr();
    const err = await new Promise<unknown>((resolve) =>
      issue(
        {
          request: {
            csr: Buffer.from(csrPem),
            token: cluster.rootCa?.joinTokens?.worker,
            role: NodeRole.WORKER,
            hosts: [],
          },
          metadata: { get: () => [] },
          getPeer: () => "127.0.0.1:1",
          getAuthContext: () => null,
          on: () => undefined,
        },
        (e) => resolve(e),
      ),
    );
    expect(err).toMatchObject({ details: expect.stringContaining("no leader to write through") });
    expect(String((err as { metadata: { get(k: string): unknown[] } }).metadata.get("shoal-code"))).toBe(
      ManagerErrorCode.NoLeader,
    );
    expect(store.view((tx) => tx.nodes.count())).toBe(0);
  });
});

/** Calls the CA's IssueNodeCertificate handler as grpc-js would, with no caller certificate. */
function issueVia(ca: NodeCaService, request: Record<string, unknown>): Promise<unknown> {
  const issue = ca.service().issueNodeCertificate as unknown as (
    call: unknown,
    cb: (err: unknown, value?: unknown) => void,
  ) => void;
  return new Promise((resolve) =>
    issue(
      {
        request,
        metadata: { get: () => [] },
        getPeer: () => "127.0.0.1:1",
        getAuthContext: () => null,
        on: () => undefined,
      },
      (err, value) => resolve(err ?? value),
    ),
  );
}

describe("NodeCA certificate addresses", () => {
  async function ca() {
    const kek = KeyEncryptionKey.fromBytes(randomBytes(32));
    const { cluster } = await initCluster({ nowMs: Date.now(), kek });
    const store = new Store({ logger: silentLogger() });
    await store.update((tx) => tx.clusters.create(cluster));
    const { csrPem } = await createNodeKeyAndCsr();
    const request = (hosts: string[]) => ({
      csr: Buffer.from(csrPem),
      token: cluster.rootCa?.joinTokens?.manager,
      role: NodeRole.MANAGER,
      hosts,
    });
    return { service: new NodeCaService({ store, kek }), store, request };
  }

  it("names the addresses a joining node gives (peers dialing its IP check it: nats routes)", async () => {
    const { service, store, request } = await ca();
    const res = (await issueVia(service, request(["10.0.0.7", "m2.example"]))) as { nodeId: string };
    const pem = store.view((tx) => tx.nodes.get(res.nodeId))?.certificate?.certificate;
    const sans = new X509Certificate(Buffer.from(pem ?? [])).subjectAltName ?? "";
    expect(sans).toContain("IP Address:10.0.0.7");
    expect(sans).toContain("DNS:m2.example");
  });

  it("refuses too many addresses or one that is no address, and creates no node", async () => {
    const { service, store, request } = await ca();
    const tooMany = Array.from({ length: MAX_CERT_HOSTS + 1 }, (_, i) => `10.0.0.${i + 1}`);
    for (const hosts of [tooMany, ["not a host!"]]) {
      const err = (await issueVia(service, request(hosts))) as { code: number; details: string };
      expect(err.code).toBe(3); // INVALID_ARGUMENT
      expect(err.details).toMatch(/at most 8 addresses|neither an IP address nor a DNS name/);
    }
    expect(store.view((tx) => tx.nodes.count())).toBe(0);
  });
});
