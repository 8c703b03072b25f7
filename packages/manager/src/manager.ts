// The manager's composition: the replicated store on its Raft member, the cluster port carrying
// Raft, CA, control API and dispatcher, and the leader-only components. `init` makes a new
// one-member cluster in an empty data dir; `open` restarts a manager from its data dir.
import { readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  type Clock,
  type Logger,
  newId,
  type Random,
  ShoalError,
  silentLogger,
  systemClock,
  systemRandom,
} from "@shoal/base";
import { leaderLoops } from "@shoal/orchestrator";
import {
  type CertificateRenewer,
  createClientCredentials,
  KeyEncryptionKey,
  kekPath,
  NodeCertificateProvider,
  type NodeTlsMaterial,
  readNodeCertificate,
  tlsChannelOptions,
} from "@shoal/pki";
import { Cluster, ControlClient, Node, NodeRole, NodeState, Reachability } from "@shoal/proto";
import { GrpcTransport } from "@shoal/raft/transport";
import { ReplicatedStore, type ReplicatedStoreOptions } from "@shoal/store";
import { NodeCaService } from "./ca/node-ca.js";
import { initCluster } from "./cluster-init.js";
import { ClusterServer } from "./cluster-server.js";
import { ControlApi } from "./control/control-api.js";
import { Dispatcher } from "./dispatcher/dispatcher.js";
import { ManagerErrorCode } from "./errors.js";
import { fromStatus } from "./grpc-status.js";
import { ingressNetwork } from "./ingress-network.js";
import { type IssuedNode, type Joined, joinCluster, joinRaft } from "./join.js";
import { LeaderComponents } from "./leader-components.js";
import { GrpcForwarding } from "./membership/grpc-forwarding.js";
import { RaftMembership } from "./membership/raft-membership.js";
import {
  type ManagerIdentity,
  raftDir,
  readIdentity,
  readTls,
  writeIdentity,
  writeTls,
} from "./node-files.js";
import { checkQuorumSafety, type ManagerMember } from "./quorum-safety.js";
import { ownCertificateRenewer } from "./renewal.js";

export interface ManagerOptions {
  dataDir: string;
  /** `host:port` the cluster port binds (port 0 in tests). */
  listenAddress: string;
  /** `host:port` other nodes reach this manager at; its host goes into the certificate. */
  advertiseAddress: string;
  logger?: Logger;
  clock?: Clock;
  random?: Random;
  /** Raft timing (tick, election) for the store's member. */
  raft?: ReplicatedStoreOptions["raft"];
  /** The dispatcher's heartbeat period while the cluster object sets none (default 1 s). */
  heartbeatPeriodMs?: number;
  /** Certificate lifetime for this manager's own first certificate (tests use minutes). */
  nodeCertLifetimeMs?: number;
}

/** How long `leave` waits for the cluster to count this manager out. */
const LEAVE_TIMEOUT_MS = 30_000;

/** How long a graceful stop of the leader waits for leadership to move before it stops anyway. */
export const LEADER_TRANSFER_TIMEOUT_MS = 3_000;

const pendingBootstrapPath = (dataDir: string) => join(dataDir, "init-pending.json");

/** A raft id: random, never 0, within the 53 bits a JS number holds exactly. */
function newRaftId(random: Random): number {
  return random.intBetween(1, 2 ** 48);
}

/** Where this manager dials its own port: the bound host, or loopback for a wildcard bind. */
function selfDialHost(listenAddress: string): string {
  const host = hostOf(listenAddress);
  return host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host;
}

const hostOf = (address: string) => address.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");

export class Manager {
  private constructor(
    readonly identity: ManagerIdentity,
    readonly store: ReplicatedStore,
    private readonly transport: GrpcTransport,
    private readonly server: ClusterServer,
    private readonly components: LeaderComponents,
    private readonly membership: RaftMembership,
    private readonly forwarding: GrpcForwarding,
    private readonly control: ControlApi,
    private readonly certificates: NodeCertificateProvider,
    private readonly renewer: CertificateRenewer<
      NodeTlsMaterial & { notBeforeMs: number; notAfterMs: number }
    >,
    private readonly options: ManagerOptions,
    private readonly logger: Logger,
  ) {}

  /** The bound cluster port. */
  get port(): number {
    return this.server.port;
  }

  /**
   * A new cluster in an empty data dir: a one-member Raft, the Cluster object with its sealed
   * root CA and join tokens, and this manager's node and certificate. The objects are written
   * once the member leads (in `run`); until then they wait in a 0600 file, so a crash between
   * the two steps resumes instead of losing the CA.
   */
  static async init(options: ManagerOptions, init: { clusterName?: string } = {}): Promise<Manager> {
    const existing = await readIdentity(options.dataDir);
    if (existing !== undefined) {
      throw new ShoalError(
        ManagerErrorCode.InvalidArgument,
        `"${options.dataDir}" already holds a manager of cluster "${existing.clusterId}"`,
        {
          hint: "start it without init, or use an empty data dir",
        },
      );
    }
    const clock = options.clock ?? systemClock;
    const random = options.random ?? systemRandom();
    const kek = await KeyEncryptionKey.openOrCreate(kekPath(options.dataDir));
    const { cluster, root } = await initCluster({
      nowMs: clock.now(),
      kek,
      ...(init.clusterName === undefined ? {} : { name: init.clusterName }),
    });
    const identity: ManagerIdentity = { nodeId: newId(), raftId: newRaftId(random), clusterId: cluster.id };
    const tls = await root.issueNodeMaterial({
      nodeId: identity.nodeId,
      role: "manager",
      hosts: [hostOf(options.advertiseAddress)],
      nowMs: clock.now(),
      ...(options.nodeCertLifetimeMs === undefined ? {} : { lifetimeMs: options.nodeCertLifetimeMs }),
    });
    const node = Node.fromPartial({
      id: identity.nodeId,
      spec: { name: identity.nodeId, desiredRole: NodeRole.MANAGER },
      role: NodeRole.MANAGER,
      status: { state: NodeState.UNKNOWN, addr: hostOf(options.advertiseAddress) },
      managerStatus: { raftId: identity.raftId, addr: options.advertiseAddress, leader: true },
    });
    await writeFile(
      pendingBootstrapPath(options.dataDir),
      JSON.stringify({
        cluster: Buffer.from(Cluster.encode(cluster).finish()).toString("base64"),
        node: Buffer.from(Node.encode(node).finish()).toString("base64"),
      }),
      { mode: 0o600 },
    );
    await writeTls(options.dataDir, tls);
    await writeIdentity(options.dataDir, identity);
    return Manager.start(options, identity, tls, kek, [identity.raftId]);
  }

  /**
   * Joins an existing cluster as a manager: pins the remote's root against the token, gets a
   * manager certificate for a CSR, asks the leader to add it (as a learner, promoted once caught
   * up) and receives the KEK over mutual TLS. A wrong or rotated token is refused with a clear
   * message (MANAGER_JOIN_TOKEN_REFUSED), changing nothing here.
   */
  static async join(
    options: ManagerOptions,
    join: { token: string; remoteAddress: string },
  ): Promise<Manager> {
    const existing = await readIdentity(options.dataDir);
    if (existing !== undefined) {
      throw new ShoalError(
        ManagerErrorCode.InvalidArgument,
        `"${options.dataDir}" already holds a manager of cluster "${existing.clusterId}"`,
        {
          hint: "start it without join, or use an empty data dir",
        },
      );
    }
    const joined = await joinCluster({
      token: join.token,
      remoteAddress: join.remoteAddress,
      advertiseAddress: options.advertiseAddress,
      hosts: [hostOf(options.advertiseAddress)],
    });
    return Manager.startJoined(options, joined);
  }

  /**
   * A promoted worker becomes a manager: with the manager certificate it got after its promotion
   * (`renewNodeCertificate`), the leader at `remoteAddress` adds it to Raft and sends the KEK.
   */
  static async joinPromoted(
    options: ManagerOptions,
    node: IssuedNode & { remoteAddress: string },
  ): Promise<Manager> {
    return Manager.startJoined(options, await joinRaft(node, node.remoteAddress, options.advertiseAddress));
  }

  private static async startJoined(options: ManagerOptions, joined: Joined): Promise<Manager> {
    const kek = KeyEncryptionKey.fromBytes(joined.kek);
    await kek.writeTo(kekPath(options.dataDir));
    await writeTls(options.dataDir, joined.tls);
    await writeIdentity(options.dataDir, joined.identity);
    const manager = await Manager.start(options, joined.identity, joined.tls, kek, undefined);
    for (const m of joined.members) {
      if (m.raftId !== joined.identity.raftId && m.addr !== "") manager.transport.setPeer(m.raftId, m.addr);
    }
    return manager;
  }

  /** Restarts the manager whose identity, certificates and WAL are in the data dir. */
  static async open(options: ManagerOptions): Promise<Manager> {
    const identity = await readIdentity(options.dataDir);
    if (identity === undefined) {
      throw new ShoalError(ManagerErrorCode.InvalidArgument, `"${options.dataDir}" holds no manager`, {
        hint: "initialize a cluster with init, or join one",
      });
    }
    const kek = await KeyEncryptionKey.open(kekPath(options.dataDir));
    return Manager.start(options, identity, await readTls(options.dataDir), kek, undefined);
  }

  private static async start(
    options: ManagerOptions,
    identity: ManagerIdentity,
    tls: NodeTlsMaterial,
    kek: KeyEncryptionKey,
    bootstrapVoters: number[] | undefined,
  ): Promise<Manager> {
    const logger = (options.logger ?? silentLogger()).child({ module: "manager", nodeId: identity.nodeId });
    // One provider for the cluster port, the Raft transport's dials and forwarding: a renewed
    // certificate reaches all three (the transport used to keep its first one).
    const provider = new NodeCertificateProvider(tls);
    const transport = await GrpcTransport.open({
      id: identity.raftId,
      credentials: createClientCredentials(provider, { clusterId: identity.clusterId }),
      logger,
    });
    let storeRef: ReplicatedStore | undefined;
    const forwarding = new GrpcForwarding(
      () => provider.current,
      identity.clusterId,
      (raftId) => (storeRef === undefined ? undefined : Manager.addressOfRaft(storeRef, raftId)),
      logger,
    );
    const store = await ReplicatedStore.open({
      forwarding,
      id: identity.raftId,
      dir: raftDir(options.dataDir),
      ...(bootstrapVoters === undefined ? {} : { bootstrapVoters }),
      transport,
      logger,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.raft === undefined ? {} : { raft: options.raft }),
    });
    storeRef = store;
    const components = new LeaderComponents({ logger });
    const dispatcher = new Dispatcher({
      store,
      logger,
      rootCaPem: () => tls.rootCertPem,
      leaderAddress: () => Manager.addressOfRaft(store, store.leader),
      ...(options.heartbeatPeriodMs === undefined ? {} : { heartbeatPeriodMs: options.heartbeatPeriodMs }),
      // Every manager, so an agent can fail over when the one it joined through is gone.
      managers: () =>
        store.view((tx) =>
          // Only managers have a manager status: the role index, not every node (this runs for
          // each session message, and thousands of agents connect at once after a leader change).
          tx.nodes.find("role", String(NodeRole.MANAGER)).flatMap((n) => {
            const addr = n.managerStatus?.addr ?? "";
            return addr === "" ? [] : [{ peer: { nodeId: n.id, addr }, weight: 1 }];
          }),
        ),
    });
    components.register(dispatcher);
    const membership = new RaftMembership({
      store,
      transport,
      kek,
      selfRaftId: identity.raftId,
      leaderAddress: () => Manager.addressOfRaft(store, store.leader),
      logger,
    });
    components.register(membership.promoter());
    components.register(membership.demoter());
    for (const loop of leaderLoops({
      store,
      clock: options.clock ?? systemClock,
      random: (options.random ?? systemRandom()).split(),
      logger,
    }))
      components.register(loop);
    const ca = new NodeCaService({
      store,
      kek,
      logger,
      leaderAddress: () => Manager.addressOfRaft(store, store.leader),
      ...(options.nodeCertLifetimeMs === undefined ? {} : { nodeCertLifetimeMs: options.nodeCertLifetimeMs }),
    });
    const members = () => Manager.members(store);
    const control = new ControlApi({
      store,
      logger,
      checkManagerChange: (nodeId, change) => checkQuorumSafety(members(), nodeId, change),
      liveNode: (node) => Manager.liveNode(store, node),
    });
    let server: ClusterServer;
    try {
      server = await ClusterServer.open({
        listenAddress: options.listenAddress,
        certificates: provider,
        checkManager: (nodeId) => Manager.checkManager(store, nodeId),
        clusterId: identity.clusterId,
        logger,
        services: {
          raft: { ...transport.serviceHandlers(), ...membership.handlers() },
          control: control.service(),
          dispatcher: dispatcher.service(),
          nodeCa: ca.service(),
          storeForwarding: forwarding.service(),
        },
      });
    } catch (err) {
      await store.close();
      await transport.close();
      throw err;
    }
    logger.info(
      {
        raftId: identity.raftId,
        clusterId: identity.clusterId,
        cert: readNodeCertificate(tls.certPem).notAfterMs,
      },
      "manager open",
    );
    const renewer = ownCertificateRenewer({
      dataDir: options.dataDir,
      address: () => `${selfDialHost(options.listenAddress)}:${server.port}`,
      clusterId: identity.clusterId,
      nodeId: identity.nodeId,
      provider,
      current: tls,
      clock: options.clock ?? systemClock,
      random: options.random ?? systemRandom(),
      logger,
    });
    return new Manager(
      identity,
      store,
      transport,
      server,
      components,
      membership,
      forwarding,
      control,
      provider,
      renewer,
      options,
      logger,
    );
  }

  /**
   * The Control handlers without the cluster port's certificate checks, for the daemon's admin
   * socket (local root has full control; writes on a follower are forwarded as usual).
   */
  controlService(): grpc.UntypedServiceImplementation {
    return this.control.service();
  }

  /**
   * This manager leaves the managers (Swarm's `swarm leave` on a manager). The quorum check uses
   * the leader's view (asked over Control on a follower): refused with MANAGER_QUORUM_UNSAFE
   * when the voters left would lose their reachable majority, unless `force`. Then it demotes
   * itself — the leader's demoter takes it out of Raft, a leader handing leadership over first —
   * and resolves once the cluster counts it as a worker. The last manager has nobody to leave
   * to: with `force` this resolves at once (stopping it dissolves the cluster). The caller
   * stops the manager afterwards.
   */
  async leave(options: { force?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const nodeId = this.identity.nodeId;
    const members = this.store.isLeader() ? Manager.members(this.store) : await this.membersFromLeader();
    const check = checkQuorumSafety(members, nodeId, "leave");
    if (check.kind === "unsafe" && options.force !== true) {
      throw new ShoalError(ManagerErrorCode.QuorumUnsafe, check.message, { hint: check.hint });
    }
    if (!members.some((m) => m.voter && m.nodeId !== nodeId)) return;
    await this.store.update((tx) => {
      const n = tx.nodes.get(nodeId);
      if (n?.spec !== undefined) tx.nodes.update({ ...n, spec: { ...n.spec, desiredRole: NodeRole.WORKER } });
    });
    this.logger.info({ force: options.force === true }, "leaving the managers");
    const deadline = Date.now() + (options.timeoutMs ?? LEAVE_TIMEOUT_MS);
    while (!(await this.leftManagers())) {
      if (Date.now() > deadline) {
        throw new ShoalError(
          ManagerErrorCode.Unavailable,
          `node "${nodeId}" was not out of the managers within ${options.timeoutMs ?? LEAVE_TIMEOUT_MS} ms`,
          { hint: "the leader finishes the demotion once it can; check with `shoal node ls`" },
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A Control call to the current leader with this manager's certificate (undefined: no leader). */
  private async askLeader<T>(method: "listNodes" | "getNode", request: unknown): Promise<T | undefined> {
    const address = Manager.addressOfRaft(this.store, this.store.leader);
    if (address === undefined || this.store.isLeader()) return undefined;
    const client = new ControlClient(
      address,
      createClientCredentials(this.certificates.current, { clusterId: this.identity.clusterId }),
      { ...tlsChannelOptions(), "grpc.use_local_subchannel_pool": 1 },
    );
    try {
      return await new Promise<T>((resolve, reject) =>
        (
          client[method] as unknown as (
            r: unknown,
            md: grpc.Metadata,
            o: grpc.CallOptions,
            cb: (e: grpc.ServiceError | null, v: T) => void,
          ) => void
        ).call(client, request, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, (err, value) =>
          err ? reject(fromStatus(err)) : resolve(value),
        ),
      );
    } finally {
      client.close();
    }
  }

  /** The managers as the leader sees them (its live reachability in ListNodes). */
  private async membersFromLeader(): Promise<ManagerMember[]> {
    const res = await this.askLeader<{ nodes: Node[] }>("listNodes", {});
    if (res === undefined) {
      throw new ShoalError(ManagerErrorCode.NoLeader, "no leader is known here to check quorum with", {
        hint: "wait for the cluster to elect a leader, or leave with --force",
      });
    }
    return res.nodes
      .filter((n) => n.role === NodeRole.MANAGER && (n.managerStatus?.raftId ?? 0) !== 0)
      .map((n) => ({
        nodeId: n.id,
        name: n.spec?.name || n.description?.hostname || n.id,
        voter: n.managerStatus?.reachability !== Reachability.UNKNOWN,
        reachable: n.managerStatus?.reachability === Reachability.REACHABLE,
      }));
  }

  /** Out of the Raft configuration here, a worker here, or the leader says so (or refuses us as no manager). */
  private async leftManagers(): Promise<boolean> {
    const status = this.store.raft.status();
    const raftId = this.identity.raftId;
    if (status !== undefined && ![...status.confState.voters, ...status.confState.learners].includes(raftId))
      return true;
    if (this.store.view((tx) => tx.nodes.get(this.identity.nodeId)?.role) === NodeRole.WORKER) return true;
    try {
      const res = await this.askLeader<{ node?: Node }>("getNode", { nodeId: this.identity.nodeId });
      return res?.node?.role === NodeRole.WORKER;
    } catch (err) {
      return (
        ShoalError.is(err, ManagerErrorCode.PermissionDenied) ||
        ShoalError.is(err, ManagerErrorCode.NodeRemoved)
      );
    }
  }

  /** The cluster address of the manager with `raftId`, from the store's node objects. */
  private static addressOfRaft(store: ReplicatedStore, raftId: number): string | undefined {
    if (raftId === 0) return undefined;
    return store.view(
      (tx) =>
        tx.nodes.find("role", String(NodeRole.MANAGER)).find((n) => n.managerStatus?.raftId === raftId)
          ?.managerStatus?.addr,
    );
  }

  /**
   * A manager-only call must come from a node that is a manager in the store: a removed node
   * (no object) or a demoted one is refused although its certificate is still valid.
   */
  private static checkManager(store: ReplicatedStore, nodeId: string): ShoalError | undefined {
    const { node, initialized } = store.view((tx) => ({
      node: tx.nodes.get(nodeId),
      initialized: tx.clusters.count() > 0,
    }));
    // A replica that has not received the cluster yet (a manager still joining) cannot tell a
    // removed node from one it has not heard of: it lets the leader's messages in.
    if (!initialized) return undefined;
    if (node === undefined) {
      return new ShoalError(
        ManagerErrorCode.NodeRemoved,
        `node "${nodeId}" is not a member of this cluster (it was removed)`,
        {
          hint: "a removed node cannot come back with its old identity: clear its data dir and join again with a token",
        },
      );
    }
    if (node.role !== NodeRole.MANAGER) {
      return new ShoalError(ManagerErrorCode.PermissionDenied, `node "${nodeId}" is not a manager any more`);
    }
    return undefined;
  }

  /**
   * `managerStatus.leader` and `reachability` as this member sees them now: on the leader a
   * voter is REACHABLE when its progress was recently active, UNREACHABLE otherwise; a learner
   * (still catching up) is UNKNOWN until promoted. A follower knows only itself and the leader.
   */
  private static liveNode(store: ReplicatedStore, node: Node): Node {
    const ms = node.managerStatus;
    const status = store.raft.status();
    if (ms === undefined || ms.raftId === 0 || status === undefined) return node;
    const self = ms.raftId === status.id;
    const leader = ms.raftId === store.leader;
    const voter = status.confState.voters.includes(ms.raftId);
    let reachability: Reachability = Reachability.UNKNOWN;
    if (voter && (self || leader)) reachability = Reachability.REACHABLE;
    else if (voter && store.isLeader())
      reachability =
        status.progress.get(ms.raftId)?.recentActive === true
          ? Reachability.REACHABLE
          : Reachability.UNREACHABLE;
    return { ...node, managerStatus: { ...ms, leader, reachability } };
  }

  /**
   * The managers as this member sees them, for quorum checks: reachability from the leader's
   * progress on the leader; on a follower, itself and the leader it follows.
   */
  private static members(store: ReplicatedStore): ManagerMember[] {
    const status = store.raft.status();
    if (status === undefined) return [];
    const voters = new Set(status.confState.voters);
    return store.view((tx) =>
      tx.nodes
        .list()
        .filter((n) => n.managerStatus !== undefined && n.managerStatus.raftId !== 0)
        .map((n) => {
          const raftId = n.managerStatus?.raftId ?? 0;
          // Only the leader tracks its followers' progress. A follower knows itself and the leader
          // it hears from; the other voters count as unreachable there (the safe side).
          const reachable =
            raftId === status.id ||
            (raftId === store.leader && !store.isLeader()) ||
            status.progress.get(raftId)?.recentActive === true;
          return {
            nodeId: n.id,
            name: n.spec?.name || n.description?.hostname || n.id,
            voter: voters.has(raftId),
            reachable,
          };
        }),
    );
  }

  /**
   * Runs the Raft member, writes a pending bootstrap once leading, and runs the leader-only
   * components while leading. On abort, a leader hands leadership to another voter first.
   */
  async run(signal: AbortSignal): Promise<void> {
    const member = new AbortController();
    const storeRun = this.store.run(member.signal);
    const componentsRun = this.components.run(this.store, member.signal);
    const bootstrap = this.writePendingBootstrap(member.signal);
    const peers = this.membership.syncPeers(member.signal);
    const renewal = this.renewer.run(member.signal);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
      storeRun.then(resolve, resolve);
    });
    await this.transferLeadershipIfLeading();
    member.abort();
    await Promise.allSettled([componentsRun, bootstrap, peers, renewal]);
    await storeRun;
  }

  async close(): Promise<void> {
    this.forwarding.close();
    await this.server.close();
    await this.store.close();
    await this.transport.close();
  }

  private async writePendingBootstrap(signal: AbortSignal): Promise<void> {
    let pending: { cluster: string; node: string };
    try {
      pending = JSON.parse(
        await readFile(pendingBootstrapPath(this.options.dataDir), "utf8"),
      ) as typeof pending;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    for await (const state of this.store.leadershipChanges(signal)) {
      if (!state.isLeader) continue;
      const cluster = Cluster.decode(Buffer.from(pending.cluster, "base64"));
      const node = Node.decode(Buffer.from(pending.node, "base64"));
      await this.store.update((tx) => {
        if (tx.clusters.get(cluster.id) === undefined) tx.clusters.create(cluster);
        if (tx.nodes.get(node.id) === undefined) tx.nodes.create(node);
        // Every cluster has the routing mesh's network from the start, as Swarm's "ingress".
        if (tx.networks.list().length === 0)
          tx.networks.create(ingressNetwork(cluster, cluster.meta?.createdAtMs ?? 0));
      });
      await unlink(pendingBootstrapPath(this.options.dataDir));
      this.logger.info({ clusterId: cluster.id }, "cluster initialized");
      return;
    }
  }

  /** Graceful shutdown of the leader: hand leadership to a caught-up voter, wait a little. */
  private async transferLeadershipIfLeading(): Promise<void> {
    const status = this.store.raft.status();
    if (status === undefined || !this.store.isLeader()) return;
    const candidates = status.confState.voters.filter((id) => id !== status.id);
    if (candidates.length === 0) return;
    const best = candidates.sort(
      (a, b) => (status.progress.get(b)?.match ?? 0) - (status.progress.get(a)?.match ?? 0),
    )[0];
    if (best === undefined) return;
    this.logger.info({ to: best }, "transferring leadership before stopping");
    this.store.raft.transferLeadership(best);
    const deadline = Date.now() + LEADER_TRANSFER_TIMEOUT_MS;
    while (this.store.isLeader() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}
