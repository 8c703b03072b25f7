import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import {
  KeyEncryptionKey,
  kekPath,
  matchJoinToken,
  parseJoinToken,
  unsealRootCa,
  verifyRootAgainstToken,
} from "@shoal/pki";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_NODE_SUBNET_POOL, initCluster } from "./cluster-init.js";
import { ManagerErrorCode } from "./errors.js";

let dir: string;
let kek: KeyEncryptionKey;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-manager-init-"));
  kek = await KeyEncryptionKey.openOrCreate(kekPath(dir));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("initCluster", () => {
  it("makes the Cluster object with Swarm-like settings, a sealed root CA and both join tokens", async () => {
    const { cluster, root } = await initCluster({ nowMs: 1_000, kek, name: "prod" });
    expect(cluster.id).toHaveLength(25);
    expect(cluster.spec).toMatchObject({
      name: "prod",
      orchestration: { taskHistoryRetentionLimit: 5 },
      dispatcher: { heartbeatPeriodMs: 1_000 },
      caConfig: { nodeCertExpiryMs: 90 * 24 * 3600 * 1000 },
      raft: { heartbeatTick: 1, electionTick: 10, snapshotInterval: 10_000 },
      allocator: {
        defaultAddressPool: ["10.0.0.0/8"],
        subnetSize: 24,
        nodeSubnetPool: DEFAULT_NODE_SUBNET_POOL,
      },
    });
    const certPem = Buffer.from(cluster.rootCa?.caCert ?? []).toString();
    const sealedKey = Buffer.from(cluster.rootCa?.caKey ?? []).toString();
    // The key in the object is sealed, never the plain key.
    expect(sealedKey).toContain("SHOAL ENCRYPTED PRIVATE KEY");
    expect(sealedKey).not.toContain("BEGIN PRIVATE KEY");
    const reopened = await unsealRootCa(
      { caCertPem: certPem, caKeySealedPem: sealedKey, caCertHash: cluster.rootCa?.caCertHash ?? "" },
      kek,
    );
    expect(reopened.digest).toBe(root.digest);
    const tokens = cluster.rootCa?.joinTokens;
    if (tokens === undefined) throw new Error("no join tokens");
    expect(tokens.worker).not.toBe(tokens.manager);
    expect(parseJoinToken(tokens.worker).rootDigest).toBe(root.digest);
    expect(verifyRootAgainstToken(tokens.manager, certPem)).toMatchObject({ kind: "trusted" });
    expect(matchJoinToken(tokens.manager, tokens)).toEqual({ kind: "accepted", role: "manager" });
  });

  it("refuses invalid settings, naming the field", async () => {
    const err = await initCluster({ nowMs: 0, kek, spec: { labels: { "": "x" } } }).catch((e: unknown) => e);
    expect(ShoalError.is(err, ManagerErrorCode.InvalidArgument)).toBe(true);
    expect((err as Error).message).toMatch(/^cluster settings are invalid: labels/);
  });
});
