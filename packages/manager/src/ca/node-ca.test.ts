import { randomBytes } from "node:crypto";
import { ShoalError, silentLogger } from "@shoal/base";
import { createNodeKeyAndCsr, KeyEncryptionKey } from "@shoal/pki";
import { NodeRole } from "@shoal/proto";
import { Store, StoreErrorCode } from "@shoal/store";
import { describe, expect, it } from "vitest";
import { initCluster } from "../cluster-init.js";
import { ManagerErrorCode } from "../errors.js";
import { NodeCaService } from "./node-ca.js";

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
