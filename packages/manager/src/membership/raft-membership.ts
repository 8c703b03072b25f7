// Raft membership of the managers (swarmkit's manager/state/raft/membership): a manager that
// holds a manager certificate calls Raft/Join on the leader; the leader adds it as a learner,
// records its raft id and address in its node object, and answers with the members and the KEK
// (over mutual TLS, to a verified manager only) so the new manager can unseal the root CA.
// The leader's promoter makes a learner a voter once it has caught up. Every member keeps its
// transport's peer addresses in step with the node objects. A removed node (no node object)
// is refused with its old identity.
import type * as grpc from "@grpc/grpc-js";
import { type Logger, type Random, ShoalError, silentLogger, systemRandom } from "@shoal/base";
import type { KeyEncryptionKey } from "@shoal/pki";
import { type JoinRequest, type JoinResponse, NodeRole, type RaftMember } from "@shoal/proto";
import type { GrpcTransport } from "@shoal/raft/transport";
import { type ReplicatedStore, StoreErrorCode } from "@shoal/store";
import { ManagerErrorCode } from "../errors.js";
import type { LeaderComponent } from "../leader-components.js";
import { type RpcContext, unaryHandler } from "../rpc-handler.js";

/** A learner this close to the leader's last index is caught up and becomes a voter. */
export const PROMOTE_MAX_LAG_ENTRIES = 10;
/** How often the leader looks for learners to promote. */
export const PROMOTE_CHECK_MS = 200;

export interface RaftMembershipOptions {
  store: ReplicatedStore;
  transport: GrpcTransport;
  kek: KeyEncryptionKey;
  selfRaftId: number;
  leaderAddress: () => string | undefined;
  logger?: Logger;
  random?: Random;
}

export class RaftMembership {
  private readonly store: ReplicatedStore;
  private readonly logger: Logger;
  private readonly random: Random;

  constructor(private readonly options: RaftMembershipOptions) {
    this.store = options.store;
    this.logger = (options.logger ?? silentLogger()).child({ module: "manager/membership" });
    this.random = options.random ?? systemRandom();
  }

  /** Join, Leave and ResolveAddress of the `Raft` service (Stream comes from the transport). */
  handlers(): grpc.UntypedServiceImplementation {
    return {
      join: unaryHandler(this.logger, (req: JoinRequest, ctx: RpcContext) => this.join(req, ctx)),
      resolveAddress: unaryHandler(this.logger, async (req: { raftId: number }) => ({
        addr: this.members().find((m) => m.raftId === req.raftId)?.addr ?? "",
      })),
    };
  }

  /**
   * The managers with raft ids, from the node objects (only managers carry a raft id: the role
   * index, not every node — this runs on every node change, and 1,000 workers change often).
   */
  members(): RaftMember[] {
    return this.store.view((tx) =>
      tx.nodes
        .find("role", String(NodeRole.MANAGER))
        .filter((n) => (n.managerStatus?.raftId ?? 0) !== 0)
        .map((n) => ({
          raftId: n.managerStatus?.raftId ?? 0,
          nodeId: n.id,
          addr: n.managerStatus?.addr ?? "",
        })),
    );
  }

  private async join(req: JoinRequest, ctx: RpcContext): Promise<JoinResponse> {
    const caller = ctx.caller;
    if (caller === undefined || caller.role !== "manager") {
      throw new ShoalError(
        ManagerErrorCode.PermissionDenied,
        "only a node with a manager certificate may join the managers",
      );
    }
    if (!this.store.isLeader()) {
      const leaderAddr = this.options.leaderAddress();
      throw new ShoalError(
        ManagerErrorCode.NotLeader,
        `this manager is not the leader${leaderAddr ? `; the leader is at "${leaderAddr}"` : ""}`,
        {
          details: leaderAddr === undefined ? {} : { leaderAddr },
        },
      );
    }
    if (req.addr === "") {
      throw new ShoalError(ManagerErrorCode.InvalidArgument, "addr is required", {
        details: { field: "addr" },
      });
    }
    const node = this.store.view((tx) => tx.nodes.get(caller.nodeId));
    if (node === undefined) {
      throw new ShoalError(
        ManagerErrorCode.NodeRemoved,
        `node "${caller.nodeId}" is not a member of this cluster (it was removed)`,
        {
          hint: "a removed node cannot come back with its old identity: clear its data dir and join again with a token",
        },
      );
    }
    if (node.role !== NodeRole.MANAGER) {
      throw new ShoalError(ManagerErrorCode.PermissionDenied, `node "${caller.nodeId}" is not a manager`);
    }
    const known = node.managerStatus?.raftId ?? 0;
    const raftId = known !== 0 ? known : this.newRaftId();
    this.options.transport.setPeer(raftId, req.addr);
    // The leader's allocator may give the new node its container subnet at the same moment:
    // a version conflict only means the node changed, so read it again and retry.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.update((tx) => {
          const current = tx.nodes.get(node.id);
          if (current === undefined) return;
          tx.nodes.update({
            ...current,
            managerStatus: {
              raftId,
              addr: req.addr,
              leader: false,
              reachability: current.managerStatus?.reachability ?? 0,
            },
          });
        });
        break;
      } catch (err) {
        if (!(err instanceof ShoalError && err.code === StoreErrorCode.VersionConflict) || attempt >= 5)
          throw err;
      }
    }
    const status = this.store.raft.status();
    const inConfig =
      status !== undefined && [...status.confState.voters, ...status.confState.learners].includes(raftId);
    if (!inConfig) await this.store.raft.proposeConfChange({ type: "addLearner", nodeId: raftId });
    this.logger.info({ nodeId: node.id, raftId, addr: req.addr }, "manager joined as a learner");
    return { raftId, members: this.members(), removedMembers: [], kek: this.options.kek.exportBytes() };
  }

  private newRaftId(): number {
    const taken = new Set(this.members().map((m) => m.raftId));
    for (;;) {
      const id = this.random.intBetween(1, 2 ** 48);
      if (!taken.has(id)) return id;
    }
  }

  /** Keeps the transport's peer addresses equal to the managers in the store (every member). */
  async syncPeers(signal: AbortSignal): Promise<void> {
    const apply = () => {
      for (const m of this.members())
        if (m.raftId !== this.options.selfRaftId && m.addr !== "")
          this.options.transport.setPeer(m.raftId, m.addr);
    };
    const { events } = this.store.viewAndWatch(apply, {
      filter: { kinds: ["node"], commits: false },
      signal,
    });
    try {
      for await (const _ of events) apply();
    } catch (err) {
      if (!signal.aborted) this.logger.warn({ err }, "peer address watch ended");
    }
  }

  /**
   * The leader-only demoter: a manager whose desired role became worker (quorum safety was
   * checked when that was asked) leaves the Raft configuration, then becomes a worker in the
   * store. A leader demoting itself hands leadership over first; the next leader finishes.
   */
  demoter(): LeaderComponent {
    return {
      name: "raft-demoter",
      run: async (signal) => {
        while (!signal.aborted) {
          await sleep(PROMOTE_CHECK_MS, signal);
          if (signal.aborted) return;
          const status = this.store.raft.status();
          if (status === undefined) continue;
          const demoted = this.store.view((tx) =>
            tx.nodes
              .find("role", String(NodeRole.MANAGER))
              .find((n) => n.spec?.desiredRole === NodeRole.WORKER),
          );
          if (demoted === undefined) continue;
          const raftId = demoted.managerStatus?.raftId ?? 0;
          const inConfig = [...status.confState.voters, ...status.confState.learners].includes(raftId);
          try {
            if (inConfig && raftId === status.id) {
              const other = status.confState.voters.find((id) => id !== status.id);
              if (other !== undefined) this.store.raft.transferLeadership(other);
              continue;
            }
            if (inConfig) {
              await this.store.raft.proposeConfChange({ type: "removeNode", nodeId: raftId });
              this.logger.info({ nodeId: demoted.id, raftId }, "manager left the raft configuration");
              continue;
            }
            await this.store.update((tx) => {
              const n = tx.nodes.get(demoted.id);
              if (n !== undefined) tx.nodes.update({ ...n, role: NodeRole.WORKER, managerStatus: undefined });
            });
            if (raftId !== 0) this.options.transport.removePeer(raftId);
            this.logger.info({ nodeId: demoted.id }, "manager demoted to worker");
          } catch (err) {
            this.logger.debug({ err, nodeId: demoted.id }, "demotion step not applied yet; retrying");
          }
        }
      },
    };
  }

  /** The leader-only promoter: a caught-up learner becomes a voter, one change at a time. */
  promoter(): LeaderComponent {
    return {
      name: "raft-promoter",
      run: async (signal) => {
        while (!signal.aborted) {
          await sleep(PROMOTE_CHECK_MS, signal);
          if (signal.aborted) return;
          const status = this.store.raft.status();
          if (status === undefined) continue;
          await this.promoteWorkers();
          const ready = status.confState.learners.find((id) => {
            const p = status.progress.get(id);
            return p?.recentActive === true && p.match + PROMOTE_MAX_LAG_ENTRIES >= status.lastIndex;
          });
          if (ready === undefined) continue;
          try {
            await this.store.raft.proposeConfChange({ type: "addVoter", nodeId: ready });
            this.logger.info({ raftId: ready }, "learner promoted to voter");
          } catch (err) {
            this.logger.debug({ err, raftId: ready }, "promotion not applied yet; retrying");
          }
        }
      },
    };
  }

  /**
   * A worker whose desired role became manager gets role manager (swarmkit's role manager): its
   * next certificate says manager, and its daemon then joins Raft with it (Raft/Join).
   */
  private async promoteWorkers(): Promise<void> {
    const promoted = this.store.view((tx) =>
      tx.nodes.list().filter((n) => n.role === NodeRole.WORKER && n.spec?.desiredRole === NodeRole.MANAGER),
    );
    if (promoted.length === 0) return;
    try {
      await this.store.update((tx) => {
        for (const p of promoted) {
          const n = tx.nodes.get(p.id);
          if (n !== undefined && n.role === NodeRole.WORKER)
            tx.nodes.update({ ...n, role: NodeRole.MANAGER });
        }
      });
      for (const p of promoted) this.logger.info({ nodeId: p.id }, "worker promoted to manager");
    } catch (err) {
      this.logger.debug({ err }, "promotion of workers not applied yet; retrying");
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
