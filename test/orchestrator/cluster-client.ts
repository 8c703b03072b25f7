// What the orchestrator's integration tests and benches do as a user and as worker nodes would:
// a control API client over the manager's cluster port with mutual TLS (the manager's own
// certificate, as a CLI on that manager would use it), and worker nodes that join with the
// worker token through NodeCA (a CSR, a certificate issued by the manager's CA, a node object)
// so that simulated agents can hold dispatcher sessions with real certificates.
import * as grpc from "@grpc/grpc-js";
import { fromStatus, type SimulatedNode } from "@shoal/manager";
import {
  createClientCredentials,
  createJoinCredentials,
  createNodeKeyAndCsr,
  type NodeTlsMaterial,
  tlsChannelOptions,
} from "@shoal/pki";
import {
  type Cluster,
  ControlClient,
  type CreateServiceResponse,
  type GetClusterResponse,
  type GetJoinTokensResponse,
  type GetNodeResponse,
  type GetServiceResponse,
  IssuanceState,
  type IssueNodeCertificateResponse,
  ListTasksRequest,
  type ListTasksResponse,
  NodeAvailability,
  NodeCAClient,
  type NodeCertificateStatusResponse,
  type NodeDescription,
  NodeRole,
  NodeSpec,
  type Service,
  type ServiceSpec,
  type Task,
  TaskState,
} from "@shoal/proto";

const CALL_TIMEOUT_MS = 60_000;
const channelOptions = () => ({
  ...tlsChannelOptions(),
  "grpc.use_local_subchannel_pool": 1,
  "grpc.max_receive_message_length": 256 * 1024 * 1024,
});

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
function call<T>(fn: (md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    fn(new grpc.Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, value) =>
      err ? reject(fromStatus(err)) : resolve(value as T),
    ),
  );
}

/** The control API calls the tests and benches use, promisified. */
export class Control {
  private readonly client: ControlClient;

  constructor(address: string, tls: NodeTlsMaterial, clusterId: string) {
    this.client = new ControlClient(address, createClientCredentials(tls, { clusterId }), channelOptions());
  }

  async cluster(): Promise<Cluster> {
    const res = await call<GetClusterResponse>((md, o, cb) =>
      this.client.getCluster({ clusterId: "" }, md, o, cb),
    );
    if (res.cluster === undefined) throw new Error("GetCluster returned no cluster");
    return res.cluster;
  }

  /** Changes the cluster's spec from its current version (retried on a version conflict). */
  async updateCluster(change: (spec: NonNullable<Cluster["spec"]>) => Cluster["spec"]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.cluster();
      try {
        await call((md, o, cb) =>
          this.client.updateCluster(
            { clusterId: c.id, clusterVersion: c.meta?.version ?? 0, spec: change(structuredClone(c.spec!)) },
            md,
            o,
            cb,
          ),
        );
        return;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
  }

  async workerToken(): Promise<string> {
    const res = await call<GetJoinTokensResponse>((md, o, cb) => this.client.getJoinTokens({}, md, o, cb));
    return res.joinTokens?.worker ?? "";
  }

  async createService(spec: ServiceSpec): Promise<Service> {
    const res = await call<CreateServiceResponse>((md, o, cb) =>
      this.client.createService({ spec }, md, o, cb),
    );
    if (res.service === undefined) throw new Error("CreateService returned no service");
    return res.service;
  }

  async service(serviceId: string): Promise<Service> {
    const res = await call<GetServiceResponse>((md, o, cb) =>
      this.client.getService({ serviceId, insertDefaults: false }, md, o, cb),
    );
    if (res.service === undefined) throw new Error(`GetService ${serviceId} returned nothing`);
    return res.service;
  }

  /** Changes a service's spec from its current version. */
  async updateService(serviceId: string, change: (spec: ServiceSpec) => ServiceSpec): Promise<void> {
    const s = await this.service(serviceId);
    await call((md, o, cb) =>
      this.client.updateService(
        {
          serviceId,
          serviceVersion: s.meta?.version ?? 0,
          spec: change(structuredClone(s.spec!)),
          rollback: false,
        },
        md,
        o,
        cb,
      ),
    );
  }

  async setAvailability(nodeId: string, availability: NodeAvailability): Promise<void> {
    const res = await call<GetNodeResponse>((md, o, cb) => this.client.getNode({ nodeId }, md, o, cb));
    const node = res.node;
    await call((md, o, cb) =>
      this.client.updateNode(
        {
          nodeId,
          nodeVersion: node?.meta?.version ?? 0,
          spec: NodeSpec.fromPartial({ ...node?.spec, availability }),
        },
        md,
        o,
        cb,
      ),
    );
  }

  async tasks(serviceIds: string[] = []): Promise<Task[]> {
    const res = await call<ListTasksResponse>((md, o, cb) =>
      this.client.listTasks(ListTasksRequest.fromPartial({ filters: { serviceIds } }), md, o, cb),
    );
    return res.tasks;
  }

  close(): void {
    this.client.close();
  }
}

export const isRunning = (t: Task) =>
  t.status?.state === TaskState.RUNNING && t.desiredState === TaskState.RUNNING;

export interface JoinWorkersOptions {
  /** A manager's cluster address. */
  address: string;
  rootCertPem: string;
  clusterId: string;
  token: string;
  count: number;
  /** What each node describes itself as in its session (hostname, resources). */
  description?: (i: number) => NodeDescription;
  /** Issuances at once. */
  wave?: number;
}

/**
 * Joins `count` worker nodes through the manager's CA with the worker token: each gets a node
 * object and a certificate for its own node id. One key and CSR serve every node (the CA signs
 * the node id into each certificate), which saves 1,000 key generations in a bench.
 */
export async function joinWorkers(o: JoinWorkersOptions): Promise<SimulatedNode[]> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const ca = new NodeCAClient(
    o.address,
    createJoinCredentials(o.rootCertPem, { clusterId: o.clusterId }),
    channelOptions(),
  );
  const joinOne = async (i: number): Promise<SimulatedNode> => {
    const { nodeId } = await call<IssueNodeCertificateResponse>((md, opts, cb) =>
      ca.issueNodeCertificate(
        {
          csr: Buffer.from(csrPem),
          token: o.token,
          role: NodeRole.WORKER,
          availability: NodeAvailability.ACTIVE,
          hosts: [],
        },
        md,
        opts,
        cb,
      ),
    );
    for (;;) {
      const status = await call<NodeCertificateStatusResponse>((md, opts, cb) =>
        ca.nodeCertificateStatus({ nodeId }, md, opts, cb),
      );
      if (status.certificate?.status?.state === IssuanceState.ISSUED) {
        const certPem = Buffer.from(status.certificate.certificate).toString("utf8");
        return {
          nodeId,
          tls: { rootCertPem: o.rootCertPem, keyPem, certPem },
          ...(o.description === undefined ? {} : { description: o.description(i) }),
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    const nodes: SimulatedNode[] = [];
    const wave = o.wave ?? 25;
    for (let i = 0; i < o.count; i += wave) {
      const ids = Array.from({ length: Math.min(wave, o.count - i) }, (_, k) => i + k);
      // A loaded manager may answer "outcome unknown" or lose leadership for a moment: retry.
      nodes.push(...(await Promise.all(ids.map((k) => retry(() => joinOne(k))))));
    }
    return nodes;
  } finally {
    ca.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function retry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await sleep(500 * i);
    }
  }
}

/** Polls `check` until it returns true; fails naming `what` and the last state it saw. */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  options: { timeoutMs?: number; everyMs?: number; describe?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${options.describe ? `: ${options.describe()}` : ""}`);
    await sleep(options.everyMs ?? 100);
  }
}
