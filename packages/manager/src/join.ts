// The joining side (Swarm's `docker swarm join`): 1. fetch the remote's root over unverified
// TLS and pin it against the token's digest (a man in the middle is refused); 2. over TLS
// verified by that root, send a CSR with the token and fetch the certificate (all a worker
// needs: `requestNodeCertificate`); 3. for a manager, with the certificate, ask the leader to add
// it to Raft, receiving the raft id, the members and the KEK. Nothing is written to disk here;
// the caller stores the result.
import * as grpc from "@grpc/grpc-js";
import { ShoalError } from "@shoal/base";
import {
  createBootstrapCredentials,
  createClientCredentials,
  createJoinCredentials,
  createNodeKeyAndCsr,
  type NodeTlsMaterial,
  parseCertificatePem,
  tlsChannelOptions,
  verifyRootAgainstToken,
} from "@shoal/pki";
import {
  IssuanceState,
  NodeAvailability,
  NodeCAClient,
  type NodeCertificateStatusResponse,
  NodeRole,
  RaftClient,
  type RaftMember,
} from "@shoal/proto";
import { ManagerErrorCode } from "./errors.js";
import { fromStatus } from "./grpc-status.js";
import type { ManagerIdentity } from "./node-files.js";

export interface JoinRequestOptions {
  token: string;
  /** A manager of the cluster, `host:port`. */
  remoteAddress: string;
  advertiseAddress: string;
  hosts: readonly string[];
}

/** What a joining node gets from the CA: its id, the cluster's, and its TLS material. */
export interface IssuedNode {
  nodeId: string;
  clusterId: string;
  tls: NodeTlsMaterial;
}

export interface Joined {
  identity: ManagerIdentity;
  tls: NodeTlsMaterial;
  kek: Uint8Array;
  members: RaftMember[];
}

const CALL_TIMEOUT_MS = 10_000;
const STATUS_POLL_MS = 100;

function call<T>(
  fn: (md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, v?: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) =>
    fn(new grpc.Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, value) =>
      err ? reject(fromStatus(err)) : resolve(value as T),
    ),
  );
}

export async function joinCluster(options: JoinRequestOptions): Promise<Joined> {
  const issued = await requestNodeCertificate(options, NodeRole.MANAGER);
  return joinRaft(issued, options.remoteAddress, options.advertiseAddress);
}

/**
 * Step 3 alone, for a node that already holds a manager certificate (a promoted worker): the
 * leader at `remoteAddress` adds it to Raft and answers with its raft id, the members and the KEK.
 */
export async function joinRaft(
  node: IssuedNode,
  remoteAddress: string,
  advertiseAddress: string,
): Promise<Joined> {
  const { nodeId, clusterId, tls } = node;
  const channel = { ...tlsChannelOptions(), "grpc.use_local_subchannel_pool": 1 };
  const raft = new RaftClient(remoteAddress, createClientCredentials(tls, { clusterId }), channel);
  try {
    const res = await call<{ raftId: number; members: RaftMember[]; kek: Uint8Array }>((md, o, cb) =>
      raft.join({ addr: advertiseAddress }, md, o, cb),
    );
    return { identity: { nodeId, raftId: res.raftId, clusterId }, tls, kek: res.kek, members: res.members };
  } finally {
    raft.close();
  }
}

/**
 * Steps 1 and 2: the pinned root and a certificate of `role` for a fresh key. The CA refuses a
 * token of the other role (MANAGER_JOIN_TOKEN_REFUSED) and creates no node then.
 */
export async function requestNodeCertificate(
  options: Pick<JoinRequestOptions, "token" | "remoteAddress" | "hosts"> & {
    availability?: NodeAvailability;
  },
  role: NodeRole,
): Promise<IssuedNode> {
  const channel = { ...tlsChannelOptions(), "grpc.use_local_subchannel_pool": 1 };
  // 1. The root, unverified, then pinned.
  const bootstrap = new NodeCAClient(options.remoteAddress, createBootstrapCredentials(), channel);
  let rootPem: string;
  try {
    const res = await call<{ certificate: Uint8Array }>((md, o, cb) =>
      bootstrap.getRootCaCertificate({}, md, o, cb),
    );
    rootPem = Buffer.from(res.certificate).toString("utf8");
  } finally {
    bootstrap.close();
  }
  const pin = verifyRootAgainstToken(options.token, rootPem);
  if (pin.kind === "refused") {
    throw new ShoalError(ManagerErrorCode.JoinTokenRefused, pin.message, {
      hint: "check the token and the address; get the token on a manager with `shoal cluster join-token manager`",
    });
  }
  // node:crypto's subject: one `KEY=value` per line.
  const clusterId = /^O=([0-9a-z-]+)$/m.exec(parseCertificatePem(rootPem, "cluster root").subject)?.[1];
  if (clusterId === undefined) {
    throw new ShoalError(ManagerErrorCode.JoinTokenRefused, "the cluster root names no cluster id (O)");
  }

  // 2. The certificate, over TLS verified by the pinned root.
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const ca = new NodeCAClient(options.remoteAddress, createJoinCredentials(rootPem, { clusterId }), channel);
  let certPem: string;
  let nodeId: string;
  try {
    const issued = await call<{ nodeId: string }>((md, o, cb) =>
      ca.issueNodeCertificate(
        {
          csr: Buffer.from(csrPem),
          token: options.token,
          role,
          availability: options.availability ?? NodeAvailability.ACTIVE,
          hosts: [...options.hosts],
        },
        md,
        o,
        cb,
      ),
    );
    nodeId = issued.nodeId;
    for (;;) {
      const status = await call<NodeCertificateStatusResponse>((md, o, cb) =>
        ca.nodeCertificateStatus({ nodeId }, md, o, cb),
      );
      if (status.certificate?.status?.state === IssuanceState.ISSUED) {
        certPem = Buffer.from(status.certificate.certificate).toString("utf8");
        break;
      }
      await new Promise((r) => setTimeout(r, STATUS_POLL_MS));
    }
  } finally {
    ca.close();
  }
  return { nodeId, clusterId, tls: { rootCertPem: rootPem, certPem, keyPem } };
}
