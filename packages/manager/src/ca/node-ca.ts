// The CA service (proto `NodeCA`; swarmkit's ca/server.go): a joining node fetches the root,
// pins it against its token, then sends a CSR with the token; the leader checks the token in
// constant time against the cluster's current ones (a rotated or mistyped token is refused with
// a clear message), creates the node with the role the token grants, signs its certificate and
// keeps it in the node object, where NodeCertificateStatus finds it. A node with a certificate
// renews it with a new CSR; the role comes from the store, so a promoted or demoted node gets a
// certificate with its new role. The root key is unsealed with this manager's KEK when needed.
import type * as grpc from "@grpc/grpc-js";
import { type Clock, type Logger, newId, ShoalError, silentLogger, systemClock } from "@shoal/base";
import { type KeyEncryptionKey, matchJoinToken, type RootCa, unsealRootCa } from "@shoal/pki";
import {
  type Cluster,
  IssuanceState,
  type IssueNodeCertificateRequest,
  Node,
  NodeAvailability,
  type NodeCertificateStatusRequest,
  NodeMembership,
  NodeRole,
  type RenewNodeCertificateRequest,
} from "@shoal/proto";
import { type Store, StoreErrorCode } from "@shoal/store";
import { ManagerErrorCode } from "../errors.js";
import { type RpcContext, unaryHandler } from "../rpc-handler.js";

export interface NodeCaOptions {
  store: Store;
  kek: KeyEncryptionKey;
  clock?: Clock;
  logger?: Logger;
  /** Overrides the cluster's `caConfig.nodeCertExpiryMs` (tests use minutes; the spec keeps ≥ 1 h). */
  nodeCertLifetimeMs?: number;
  /** The leader's cluster address as this manager knows it, named when no write can be made. */
  leaderAddress?: () => string | undefined;
}

/** Store failures that mean "no leader to write through right now": nothing was written. */
const NO_LEADER_CODES: ReadonlySet<string> = new Set([
  StoreErrorCode.NoLeader,
  StoreErrorCode.ProposalDropped,
]);

const roleName = (role: NodeRole) => (role === NodeRole.MANAGER ? "manager" : "worker");

export class NodeCaService {
  private readonly store: Store;
  private readonly kek: KeyEncryptionKey;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly lifetimeOverrideMs: number | undefined;
  private readonly leaderAddress: () => string | undefined;
  private root: RootCa | undefined;

  constructor(options: NodeCaOptions) {
    this.store = options.store;
    this.kek = options.kek;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({ module: "manager/ca" });
    this.lifetimeOverrideMs = options.nodeCertLifetimeMs;
    this.leaderAddress = options.leaderAddress ?? (() => undefined);
  }

  /**
   * The CA's writes go through the store (forwarded to the leader from a follower). During an
   * election, or on a leader stepping down, there is none: the caller gets MANAGER_NO_LEADER
   * (UNAVAILABLE) saying so and that a retry is safe, not a store code from inside the manager.
   */
  private async write(what: string, fn: Parameters<Store["update"]>[0]): Promise<void> {
    try {
      await this.store.update(fn);
    } catch (err) {
      if (!(err instanceof ShoalError) || !NO_LEADER_CODES.has(err.code)) throw err;
      const leaderAddr = this.leaderAddress();
      throw new ShoalError(
        ManagerErrorCode.NoLeader,
        `${what}: the cluster has no leader to write through right now (an election is under way); nothing was written`,
        {
          hint: "retry in a few seconds",
          cause: err,
          details: leaderAddr === undefined ? {} : { leaderAddr },
        },
      );
    }
  }

  service(): grpc.UntypedServiceImplementation {
    return {
      getRootCaCertificate: unaryHandler(this.logger, async () => ({
        certificate: Buffer.from(this.cluster().rootCa?.caCert ?? []),
      })),
      issueNodeCertificate: unaryHandler(this.logger, (req: IssueNodeCertificateRequest) => this.issue(req)),
      nodeCertificateStatus: unaryHandler(this.logger, async (req: NodeCertificateStatusRequest) => {
        const node = this.store.view((tx) => tx.nodes.get(req.nodeId));
        if (node === undefined) {
          throw new ShoalError(ManagerErrorCode.NotFound, `node "${req.nodeId}" not found`);
        }
        return { status: node.certificate?.status, certificate: node.certificate };
      }),
      renewNodeCertificate: unaryHandler(this.logger, (req: RenewNodeCertificateRequest, ctx: RpcContext) =>
        this.renew(req, ctx),
      ),
    };
  }

  private cluster(): Cluster {
    const cluster = this.store.view((tx) => tx.clusters.list()[0]);
    if (cluster?.rootCa === undefined) {
      throw new ShoalError(ManagerErrorCode.Unavailable, "the cluster is not initialized yet");
    }
    return cluster;
  }

  private async rootCa(cluster: Cluster): Promise<RootCa> {
    const sealed = cluster.rootCa;
    if (sealed === undefined)
      throw new ShoalError(ManagerErrorCode.Unavailable, "the cluster has no root CA");
    if (this.root?.digest === sealed.caCertHash) return this.root;
    this.root = await unsealRootCa(
      {
        caCertPem: Buffer.from(sealed.caCert).toString("utf8"),
        caKeySealedPem: Buffer.from(sealed.caKey).toString("utf8"),
        caCertHash: sealed.caCertHash,
      },
      this.kek,
    );
    return this.root;
  }

  private lifetimeMs(cluster: Cluster): number | undefined {
    return this.lifetimeOverrideMs ?? cluster.spec?.caConfig?.nodeCertExpiryMs;
  }

  private async issue(req: IssueNodeCertificateRequest) {
    const cluster = this.cluster();
    const tokens = cluster.rootCa?.joinTokens;
    if (tokens === undefined)
      throw new ShoalError(ManagerErrorCode.Unavailable, "the cluster has no join tokens");
    const match = matchJoinToken(req.token, tokens);
    if (match.kind === "refused") {
      throw new ShoalError(ManagerErrorCode.JoinTokenRefused, `join token refused: ${match.reason}`, {
        hint: "get the current token on a manager with `shoal cluster join-token worker|manager`",
      });
    }
    const wanted = roleName(req.role);
    if (match.role !== wanted) {
      throw new ShoalError(
        ManagerErrorCode.JoinTokenRefused,
        `join token refused: it is the ${match.role} token, but the node asked to join as a ${wanted}`,
        { hint: `use the ${wanted} token (\`shoal cluster join-token ${wanted}\`)` },
      );
    }
    const nodeId = newId();
    const root = await this.rootCa(cluster);
    const csrPem = Buffer.from(req.csr).toString("utf8");
    const lifetimeMs = this.lifetimeMs(cluster);
    const issued = await root.issueNodeCertificate({
      csrPem,
      nodeId,
      role: match.role,
      nowMs: this.clock.now(),
      ...(lifetimeMs === undefined ? {} : { lifetimeMs }),
    });
    const role = match.role === "manager" ? NodeRole.MANAGER : NodeRole.WORKER;
    await this.write("join", (tx) =>
      tx.nodes.create(
        Node.fromPartial({
          id: nodeId,
          spec: {
            name: nodeId,
            desiredRole: role,
            membership: NodeMembership.ACCEPTED,
            availability: req.availability ?? NodeAvailability.ACTIVE,
          },
          role,
          certificate: {
            role,
            csr: Buffer.from(csrPem),
            status: { state: IssuanceState.ISSUED, err: "" },
            certificate: Buffer.from(issued.certPem),
            cn: nodeId,
          },
        }),
      ),
    );
    this.logger.info({ nodeId, role: match.role, notAfterMs: issued.notAfterMs }, "node joined");
    return { nodeId, membership: NodeMembership.ACCEPTED };
  }

  private async renew(req: RenewNodeCertificateRequest, ctx: RpcContext) {
    const caller = ctx.caller;
    if (caller === undefined)
      throw new ShoalError(ManagerErrorCode.Unauthenticated, "renewal needs the node's certificate");
    const cluster = this.cluster();
    const node = this.store.view((tx) => tx.nodes.get(caller.nodeId));
    if (node === undefined) {
      throw new ShoalError(
        ManagerErrorCode.NodeRemoved,
        `node "${caller.nodeId}" was removed from the cluster`,
        {
          hint: "join it again with a join token",
        },
      );
    }
    const root = await this.rootCa(cluster);
    const csrPem = Buffer.from(req.csr).toString("utf8");
    const lifetimeMs = this.lifetimeMs(cluster);
    // The role the store holds now: a promotion or demotion is applied by the next certificate.
    const issued = await root.issueNodeCertificate({
      csrPem,
      nodeId: node.id,
      role: roleName(node.role),
      nowMs: this.clock.now(),
      ...(lifetimeMs === undefined ? {} : { lifetimeMs }),
    });
    await this.write("certificate renewal", (tx) => {
      const current = tx.nodes.get(node.id);
      if (current === undefined) return;
      tx.nodes.update({
        ...current,
        certificate: {
          role: node.role,
          csr: Buffer.from(csrPem),
          status: { state: IssuanceState.ISSUED, err: "" },
          certificate: Buffer.from(issued.certPem),
          cn: node.id,
        },
      });
    });
    return { nodeId: node.id };
  }
}
