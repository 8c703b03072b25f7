// `init`: what a brand-new cluster starts with — its id, the Cluster object with Swarm-like
// settings (heartbeat 1 s, task history 5, certificates for 90 days, node subnets /24 from
// 10.42.0.0/16), the root CA with its key sealed by this manager's KEK, and both join tokens.
// The result is written to the store as the first transaction of the one-member Raft cluster.
import { newId, ShoalError } from "@shoal/base";
import { generateJoinTokens, type KeyEncryptionKey, RootCa, sealRootCa } from "@shoal/pki";
import {
  type Cluster,
  ClusterDefaults,
  ClusterSpec,
  RootCa as RootCaMessage,
  SchedulingStrategy,
  validateClusterSpec,
} from "@shoal/proto";
import { ManagerErrorCode } from "./errors.js";

/** Where node (container) subnets come from unless `init` is told otherwise. */
export const DEFAULT_NODE_SUBNET_POOL = "10.42.0.0/16";
/** Each node gets a /24 of the pool (254 task addresses per node, 256 nodes per /16). */
export const DEFAULT_NODE_SUBNET_SIZE = 24;
/** The cluster's name unless `init` is given one (Swarm calls every cluster "default"). */
export const DEFAULT_CLUSTER_NAME = "default";

export interface ClusterInitOptions {
  /** The Raft-proposer-chosen clock reading stored in the objects. */
  nowMs: number;
  /** This manager's key-encryption key (pki `KeyEncryptionKey.openOrCreate(kekPath(dataDir))`). */
  kek: KeyEncryptionKey;
  name?: string;
  /** Only for tests that need a known id. */
  clusterId?: string;
  /** Overrides of the default settings (validated as a ClusterSpec). */
  spec?: Partial<ClusterSpec>;
}

export interface ClusterInit {
  cluster: Cluster;
  /** The unsealed root, to issue this first manager's own certificate. */
  root: RootCa;
}

/** The settings a new cluster gets: Swarm's defaults, with the node subnet pool above. */
export function defaultClusterSpec(name: string): ClusterSpec {
  return ClusterSpec.fromPartial({
    name,
    orchestration: { taskHistoryRetentionLimit: ClusterDefaults.taskHistoryRetentionLimit },
    raft: {
      snapshotInterval: ClusterDefaults.snapshotInterval,
      logEntriesForSlowFollowers: ClusterDefaults.logEntriesForSlowFollowers,
      heartbeatTick: ClusterDefaults.heartbeatTick,
      electionTick: ClusterDefaults.electionTick,
    },
    dispatcher: { heartbeatPeriodMs: ClusterDefaults.heartbeatPeriodMs },
    caConfig: { nodeCertExpiryMs: ClusterDefaults.nodeCertExpiryMs },
    scheduler: { strategy: SchedulingStrategy.SPREAD },
    allocator: {
      defaultAddressPool: [...ClusterDefaults.defaultAddressPool],
      subnetSize: DEFAULT_NODE_SUBNET_SIZE,
      nodeSubnetPool: DEFAULT_NODE_SUBNET_POOL,
    },
  });
}

export async function initCluster(options: ClusterInitOptions): Promise<ClusterInit> {
  const id = options.clusterId ?? newId();
  const spec = ClusterSpec.fromPartial({
    ...defaultClusterSpec(options.name ?? DEFAULT_CLUSTER_NAME),
    ...options.spec,
  });
  const issues = validateClusterSpec(spec);
  if (issues.length > 0) {
    throw new ShoalError(
      ManagerErrorCode.InvalidArgument,
      `cluster settings are invalid: ${issues.map((i) => i.message).join("; ")}`,
      { details: { issues } },
    );
  }
  const root = await RootCa.create({ clusterId: id, nowMs: options.nowMs });
  const sealed = sealRootCa(root, options.kek);
  const cluster: Cluster = {
    id,
    meta: { version: 0, createdAtMs: options.nowMs, updatedAtMs: options.nowMs },
    spec,
    rootCa: RootCaMessage.fromPartial({
      caCert: Buffer.from(sealed.caCertPem, "utf8"),
      caKey: Buffer.from(sealed.caKeySealedPem, "utf8"),
      caCertHash: sealed.caCertHash,
      joinTokens: generateJoinTokens(root.digest),
    }),
    networkBootstrapKeys: [],
    encryptionKeyLamportClock: 0,
  };
  return { cluster, root };
}
