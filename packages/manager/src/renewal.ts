// This manager's own certificate renewal: pki's CertificateRenewer on the manager's clock, asking
// the cluster's CA (through this manager's own port, so a follower's write is forwarded) for a
// certificate for a new key, then writing it to the data dir and swapping the server's
// certificate in place. The store decides the role, so a demoted manager's next certificate
// says worker.
import * as grpc from "@grpc/grpc-js";
import { type Clock, type Logger, type Random, ShoalError } from "@shoal/base";
import {
  CertificateRenewer,
  createClientCredentials,
  createNodeKeyAndCsr,
  type NodeCertificateProvider,
  type NodeTlsMaterial,
  readNodeCertificate,
  tlsChannelOptions,
} from "@shoal/pki";
import { IssuanceState, NodeCAClient } from "@shoal/proto";
import { ManagerErrorCode } from "./errors.js";
import { fromStatus } from "./grpc-status.js";
import { writeTls } from "./node-files.js";

interface RenewableTls extends NodeTlsMaterial {
  notBeforeMs: number;
  notAfterMs: number;
}

const POLL_MS = 100;
const CALL_TIMEOUT_MS = 10_000;

export function renewableTls(tls: NodeTlsMaterial): RenewableTls {
  const info = readNodeCertificate(tls.certPem);
  return { ...tls, notBeforeMs: info.notBeforeMs, notAfterMs: info.notAfterMs };
}

export function ownCertificateRenewer(options: {
  dataDir: string;
  address: () => string;
  /** The addresses the certificate names (its IP SANs): the manager's advertise host. */
  hosts: readonly string[];
  clusterId: string;
  nodeId: string;
  provider: NodeCertificateProvider;
  current: NodeTlsMaterial;
  clock: Clock;
  random: Random;
  logger: Logger;
}): CertificateRenewer<RenewableTls> {
  let inUse = options.current;
  return new CertificateRenewer<RenewableTls>({
    clock: options.clock,
    random: options.random,
    logger: options.logger,
    current: renewableTls(options.current),
    renew: async () =>
      renewableTls(
        await renewNodeCertificate({
          address: options.address(),
          clusterId: options.clusterId,
          nodeId: options.nodeId,
          hosts: options.hosts,
          current: inUse,
        }),
      ),
    store: async (renewed) => {
      const tls = { rootCertPem: renewed.rootCertPem, certPem: renewed.certPem, keyPem: renewed.keyPem };
      await writeTls(options.dataDir, tls);
      options.provider.update(tls);
      inUse = tls;
    },
  });
}

/**
 * A certificate for a new key from the cluster's CA at `address`, asked with the `current` one.
 * The store decides the role: a promoted worker gets a manager certificate, a demoted manager a
 * worker one. Nothing is written here.
 */
export async function renewNodeCertificate(options: {
  address: string;
  clusterId: string;
  nodeId: string;
  /** The addresses the new certificate names (the node's advertise host). */
  hosts: readonly string[];
  current: NodeTlsMaterial;
}): Promise<NodeTlsMaterial> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const client = new NodeCAClient(
    options.address,
    createClientCredentials(options.current, { clusterId: options.clusterId }),
    {
      ...tlsChannelOptions(),
      "grpc.use_local_subchannel_pool": 1,
    },
  );
  const call = <T>(
    fn: (md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: T) => void) => void,
  ) =>
    new Promise<T>((resolve, reject) =>
      fn(new grpc.Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (e, v) =>
        e ? reject(fromStatus(e)) : resolve(v),
      ),
    );
  try {
    await call((md, o, cb) =>
      client.renewNodeCertificate({ csr: Buffer.from(csrPem), hosts: [...options.hosts] }, md, o, cb),
    );
    for (let i = 0; i < CALL_TIMEOUT_MS / POLL_MS; i++) {
      const status = await call<{
        certificate?: { status?: { state: number }; certificate: Uint8Array } | undefined;
      }>((md, o, cb) => client.nodeCertificateStatus({ nodeId: options.nodeId }, md, o, cb as never));
      const pem = Buffer.from(status.certificate?.certificate ?? []).toString("utf8");
      if (
        status.certificate?.status?.state === IssuanceState.ISSUED &&
        pem !== "" &&
        pem !== options.current.certPem
      ) {
        return { rootCertPem: options.current.rootCertPem, certPem: pem, keyPem };
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    throw new ShoalError(
      ManagerErrorCode.Unavailable,
      "the CA did not issue the renewed certificate in time",
    );
  } finally {
    client.close();
  }
}
