// The dispatcher (proto `Dispatcher`; swarmkit's manager/dispatcher): agents keep a session with
// the leader, heartbeat on that session's stream at the period it answers, receive their
// assignments (complete, then incremental) and report task statuses. It serves only while it
// runs as a leader component; on a follower every call fails with MANAGER_NOT_LEADER naming the
// leader's address, so the agent moves there. After a leader change the nodes the store says
// are up get a grace of several periods to reconnect before they are marked DOWN.
import { setMaxListeners } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import {
  type Clock,
  isAbortError,
  type Logger,
  newId,
  type Random,
  ShoalError,
  silentLogger,
  systemClock,
  systemRandom,
} from "@shoal/base";
import type { CallerIdentity } from "@shoal/pki";
import {
  type AssignmentsMessage,
  AssignmentsType,
  type Node,
  NodeState,
  type SessionClientMessage,
  type SessionMessage,
  type SessionRequest,
  type SessionServerMessage,
  type UpdateTaskStatusRequest,
  type UpdateTaskStatusResponse,
  type WeightedManager,
} from "@shoal/proto";
import { type ReadTx, type Store, StoreErrorCode } from "@shoal/store";
import { ManagerErrorCode } from "../errors.js";
import type { LeaderComponent } from "../leader-components.js";
import {
  duplexHandler,
  type IncomingMessages,
  type RpcContext,
  streamHandler,
  unaryHandler,
} from "../rpc-handler.js";
import {
  assignmentsOf,
  completeChanges,
  diffAssignments,
  type NodeAssignments,
  updateAssignments,
} from "./assignments.js";
import { NodeChanges } from "./node-changes.js";
import {
  DEFAULT_HEARTBEAT_JITTER,
  DEFAULT_HEARTBEAT_PERIOD_MS,
  DEFAULT_LEADER_CHANGE_GRACE_PERIODS,
  DEFAULT_MISSED_HEARTBEATS,
  NodeLiveness,
} from "./node-liveness.js";
import { OverlayCatalogCache } from "./overlay-assignment.js";
import { DEFAULT_SESSION_OPEN_TIMEOUT_MS, SessionStream } from "./session-stream.js";
import { DEFAULT_STATUS_FLUSH_MS, StatusBatcher } from "./status-batcher.js";
import { decideStatusUpdates } from "./status-updates.js";
import { Wakeup } from "./wakeup.js";

export interface DispatcherOptions {
  store: Store;
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  /** Used when the cluster object sets no `dispatcher.heartbeatPeriodMs`. */
  heartbeatPeriodMs?: number;
  heartbeatJitter?: number;
  missedHeartbeats?: number;
  graceAfterLeaderChangePeriods?: number;
  statusFlushMs?: number;
  /** A session stream that sends no `open` message within this is closed. */
  sessionOpenTimeoutMs?: number;
  /** The managers agents may connect to, with weights (sent in every session message). */
  managers?: () => WeightedManager[];
  /** The leader's cluster address as this manager knows it, for refusals on a follower. */
  leaderAddress?: () => string | undefined;
  /** The cluster's root certificate (PEM), sent with the session. */
  rootCaPem?: () => string;
}

interface Session {
  id: string;
  nodeId: string;
  controller: AbortController;
}

interface Active {
  signal: AbortSignal;
  liveness: NodeLiveness;
  batcher: StatusBatcher;
  /** Commits touching a node, for its session and assignments stream (one store watch). */
  changes: NodeChanges;
  periodMs: number;
}

/** How often the leader looks for nodes past their heartbeat deadline, as a share of the period. */
const SWEEPS_PER_PERIOD = 4;

export class Dispatcher implements LeaderComponent {
  readonly name = "dispatcher";
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly options: Required<
    Pick<
      DispatcherOptions,
      | "heartbeatPeriodMs"
      | "heartbeatJitter"
      | "missedHeartbeats"
      | "graceAfterLeaderChangePeriods"
      | "statusFlushMs"
      | "sessionOpenTimeoutMs"
    >
  >;
  private readonly managers: () => WeightedManager[];
  private readonly leaderAddress: () => string | undefined;
  private readonly rootCaPem: () => string;
  private active: Active | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly sessionOfNode = new Map<string, string>();
  /** Assignment streams by node, poked when a secret or config they hold changes. */
  private readonly streams = new Map<
    string,
    { held: () => NodeAssignments; wake: Wakeup; overlayChanged: () => void }
  >();
  /** The overlay state's node-independent parts, built once per store index for every stream. */
  readonly overlayCatalogs = new OverlayCatalogCache();
  /** Counters for tests and benchmarks. */
  readonly stats = { heartbeats: 0, sessions: 0, markedDown: 0, statusReports: 0, stallsCredited: 0 };

  constructor(options: DispatcherOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom();
    this.logger = (options.logger ?? silentLogger()).child({ module: "manager/dispatcher" });
    this.options = {
      heartbeatPeriodMs: options.heartbeatPeriodMs ?? DEFAULT_HEARTBEAT_PERIOD_MS,
      heartbeatJitter: options.heartbeatJitter ?? DEFAULT_HEARTBEAT_JITTER,
      missedHeartbeats: options.missedHeartbeats ?? DEFAULT_MISSED_HEARTBEATS,
      graceAfterLeaderChangePeriods:
        options.graceAfterLeaderChangePeriods ?? DEFAULT_LEADER_CHANGE_GRACE_PERIODS,
      statusFlushMs: options.statusFlushMs ?? DEFAULT_STATUS_FLUSH_MS,
      sessionOpenTimeoutMs: options.sessionOpenTimeoutMs ?? DEFAULT_SESSION_OPEN_TIMEOUT_MS,
    };
    for (const [name, value] of Object.entries(this.options)) {
      if (!Number.isFinite(value) || value < 0) {
        throw new ShoalError(
          ManagerErrorCode.InvalidOptions,
          `dispatcher option ${name} is ${value}, not a number ≥ 0`,
        );
      }
    }
    this.managers = options.managers ?? (() => []);
    this.leaderAddress = options.leaderAddress ?? (() => undefined);
    this.rootCaPem = options.rootCaPem ?? (() => "");
  }

  /** Serves while `signal` lasts (this manager's leadership); marks silent nodes DOWN. */
  async run(signal: AbortSignal): Promise<void> {
    // Every session and stream listens on the leadership signal (through AbortSignal.any).
    setMaxListeners(0, signal);
    const periodMs = this.clusterPeriodMs();
    const liveness = new NodeLiveness({
      periodMs,
      jitter: this.options.heartbeatJitter,
      missedHeartbeats: this.options.missedHeartbeats,
      graceAfterLeaderChangePeriods: this.options.graceAfterLeaderChangePeriods,
      random: this.random,
    });
    const up = this.store.view((tx) =>
      tx.nodes
        .list()
        .filter((n) => n.status?.state === NodeState.READY)
        .map((n) => n.id),
    );
    liveness.adopt(up, this.clock.now());
    const batcher = new StatusBatcher(this.store, this.clock, this.options.statusFlushMs, this.logger);
    const changes = new NodeChanges(this.store, this.logger);
    this.active = { signal, liveness, batcher, changes, periodMs };
    this.logger.info({ periodMs, adopted: up.length }, "dispatcher serving");
    try {
      await Promise.all([
        changes.run(signal),
        this.sweep(signal, liveness, periodMs),
        this.watchSecretsAndConfigs(signal),
        this.watchOverlay(signal),
      ]);
    } finally {
      this.active = undefined;
      for (const session of this.sessions.values()) session.controller.abort();
      this.sessions.clear();
      this.sessionOfNode.clear();
      await batcher.close();
      this.logger.info("dispatcher stopped");
    }
  }

  /** The grpc-js implementation of `Dispatcher`, to mount on the cluster port. */
  service(): grpc.UntypedServiceImplementation {
    return {
      session: duplexHandler<SessionClientMessage, SessionServerMessage>(this.logger, (incoming, send, ctx) =>
        this.session(incoming, send, ctx),
      ),
      assignments: streamHandler<{ sessionId: string }, AssignmentsMessage>(this.logger, (req, send, ctx) =>
        this.assignments(req.sessionId, send, ctx),
      ),
      updateTaskStatus: unaryHandler<UpdateTaskStatusRequest, UpdateTaskStatusResponse>(
        this.logger,
        (req, ctx) => this.updateTaskStatus(req, ctx),
      ),
    };
  }

  /** Sessions open now (tests, benchmarks). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  private requireActive(): Active {
    if (this.active !== undefined) return this.active;
    const leaderAddr = this.leaderAddress();
    throw new ShoalError(
      ManagerErrorCode.NotLeader,
      leaderAddr === undefined
        ? "this manager is not the leader and no leader is known"
        : `this manager is not the leader; the leader is at "${leaderAddr}"`,
      { details: leaderAddr === undefined ? {} : { leaderAddr } },
    );
  }

  private callerOf(ctx: RpcContext): CallerIdentity {
    if (ctx.caller === undefined) {
      throw new ShoalError(ManagerErrorCode.Unauthenticated, "the dispatcher needs a node certificate");
    }
    return ctx.caller;
  }

  private sessionOf(sessionId: string, ctx: RpcContext): { session: Session; active: Active } {
    const active = this.requireActive();
    const caller = this.callerOf(ctx);
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.nodeId !== caller.nodeId) {
      throw new ShoalError(
        ManagerErrorCode.SessionInvalid,
        `session "${sessionId}" is not open for node "${caller.nodeId}"`,
        {
          hint: "open a new session",
        },
      );
    }
    return { session, active };
  }

  private async session(
    incoming: IncomingMessages<SessionClientMessage>,
    sendMessage: (m: SessionServerMessage) => void,
    ctx: RpcContext,
  ): Promise<void> {
    const active = this.requireActive();
    const { nodeId } = this.callerOf(ctx);
    const send = (value: SessionMessage) => sendMessage({ kind: { $case: "session", value } });
    // Set once the session message went out; until then (and after) heartbeats are not counted.
    let ended: AbortSignal | undefined;
    const stream = new SessionStream(incoming, {
      clock: this.clock,
      openTimeoutMs: this.options.sessionOpenTimeoutMs,
      signal: ctx.signal,
      nodeId,
      // The whole per-heartbeat path: one deadline moved, one small message back on the stream.
      onHeartbeat: () => {
        if (ended === undefined || ended.aborted) return;
        this.stats.heartbeats++;
        const periodMs = active.liveness.beat(nodeId, this.clock.now());
        sendMessage({ kind: { $case: "heartbeat", value: { periodMs } } });
      },
    });
    const request = await stream.opened;
    const node = await this.markReady(nodeId, request, peerHost(ctx.peer));
    const previous = this.sessionOfNode.get(nodeId);
    if (previous !== undefined) this.sessions.get(previous)?.controller.abort();
    const session: Session = { id: newId(), nodeId, controller: new AbortController() };
    this.sessions.set(session.id, session);
    this.sessionOfNode.set(nodeId, session.id);
    this.stats.sessions++;
    active.liveness.beat(nodeId, this.clock.now());
    ended = AbortSignal.any([ctx.signal, session.controller.signal, active.signal, stream.broken]);
    send({
      sessionId: session.id,
      node,
      managers: this.managers(),
      networkBootstrapKeys: [],
      rootCa: Buffer.from(this.rootCaPem(), "utf8"),
    });
    await this.sendRoleChanges(session.id, nodeId, node, send, ended, active.changes);
    if (this.sessions.get(session.id) === session) {
      this.sessions.delete(session.id);
      if (this.sessionOfNode.get(nodeId) === session.id) {
        this.sessionOfNode.delete(nodeId);
        // The agent's end closed it (not a newer session, a DOWN or the leadership's end).
        if (!session.controller.signal.aborted && !active.signal.aborted)
          active.liveness.disconnected(nodeId);
      }
    }
    if (stream.broken.aborted) throw stream.broken.reason;
    if (active.signal.aborted) this.requireActive(); // tells the agent where the new leader is
  }

  /** The node READY at `addr` with the description its agent sent: what a session opens with. */
  private async markReady(nodeId: string, request: SessionRequest, addr: string): Promise<Node> {
    // The allocator may write the node (its container subnet) between the read and the commit:
    // a version conflict only means it changed, so the session reads it again.
    const write = () =>
      this.store.update((tx) => {
        const current = tx.nodes.get(nodeId);
        if (current === undefined) {
          throw new ShoalError(
            ManagerErrorCode.NotFound,
            `node "${nodeId}" is not registered with the cluster`,
            {
              hint: "join the node again with a join token",
            },
          );
        }
        const updated = {
          ...current,
          ...(request.description === undefined ? {} : { description: request.description }),
          status: { state: NodeState.READY, message: "", addr },
        };
        tx.nodes.update(updated);
        return updated;
      });
    for (let attempt = 1; ; attempt++) {
      try {
        return (await write()).result;
      } catch (err) {
        if (!(err instanceof ShoalError && err.code === StoreErrorCode.VersionConflict) || attempt >= 5)
          throw err;
      }
    }
  }

  /**
   * Until `ended`: the node object again in a session message whenever its role or desired role
   * changes, so a promoted or demoted node's daemon starts or stops its manager parts.
   */
  private async sendRoleChanges(
    sessionId: string,
    nodeId: string,
    sent: Node,
    send: (m: SessionMessage) => void,
    ended: AbortSignal,
    changes: NodeChanges,
  ): Promise<void> {
    let last = { role: sent.role, desired: sent.spec?.desiredRole };
    const check = () => {
      const node = this.store.view((tx) => tx.nodes.get(nodeId));
      if (node === undefined) return;
      const now = { role: node.role, desired: node.spec?.desiredRole };
      if (now.role === last.role && now.desired === last.desired) return;
      last = now;
      send({
        sessionId,
        node,
        managers: this.managers(),
        networkBootstrapKeys: [],
        rootCa: Buffer.from(this.rootCaPem(), "utf8"),
      });
    };
    changes.listen(nodeId, check, ended);
    check(); // a change between the session's write and the subscription
    if (!ended.aborted)
      await new Promise<void>((resolve) => ended.addEventListener("abort", () => resolve(), { once: true }));
  }

  private async assignments(
    sessionId: string,
    send: (m: AssignmentsMessage) => void,
    ctx: RpcContext,
  ): Promise<void> {
    const { session, active } = this.sessionOf(sessionId, ctx);
    const ended = AbortSignal.any([ctx.signal, session.controller.signal, active.signal]);
    const nodeId = session.nodeId;
    const overlays = (tx: ReadTx) => this.overlayCatalogs.at(tx, this.store.applied);
    let held = this.store.view((tx) => assignmentsOf(tx, nodeId, overlays(tx)));
    let index = this.store.applied;
    const wake = new Wakeup();
    // The tasks changed on the node since the last read ("all" after a lagged watch); a wake
    // with none re-reads the secrets and configs only (one of them changed).
    let changed = new Set<string>() as Set<string> | "all";
    // Something the node's overlay state depends on changed elsewhere (the overlay watch).
    let overlayDirty = false;
    // Registered in the same tick as the read: every later commit touching the node wakes it.
    active.changes.listen(
      nodeId,
      (taskIds) => {
        if (taskIds === undefined) changed = "all";
        else if (changed !== "all") for (const id of taskIds) changed.add(id);
        wake.notify();
      },
      ended,
    );
    send({
      type: AssignmentsType.COMPLETE,
      appliesTo: "",
      resultsIn: String(index),
      changes: completeChanges(held),
    });
    const stream = {
      held: () => held,
      wake,
      overlayChanged: () => {
        overlayDirty = true;
        wake.notify();
      },
    };
    this.streams.set(nodeId, stream);
    try {
      while (!ended.aborted) {
        await wake.wait(ended);
        // One read for every commit already queued: the watch delivers them in this turn, and
        // a status flush or a scheduling pass is several commits touching the same nodes.
        await new Promise((resolve) => setImmediate(resolve));
        if (ended.aborted) break;
        const taken = changed;
        const overlay = overlayDirty;
        changed = new Set<string>() as Set<string> | "all";
        overlayDirty = false;
        const { next, changes } = this.store.view((tx) => {
          if (taken !== "all") return updateAssignments(tx, nodeId, held, taken, overlay, overlays(tx));
          const all = assignmentsOf(tx, nodeId, overlays(tx));
          return { next: all, changes: diffAssignments(held, all) };
        });
        if (changes.length === 0) continue;
        const resultsIn = String(this.store.applied);
        send({ type: AssignmentsType.INCREMENTAL, appliesTo: String(index), resultsIn, changes });
        held = next;
        index = this.store.applied;
      }
    } finally {
      if (this.streams.get(nodeId) === stream) this.streams.delete(nodeId);
    }
    if (active.signal.aborted) this.requireActive();
  }

  private async updateTaskStatus(
    request: UpdateTaskStatusRequest,
    ctx: RpcContext,
  ): Promise<UpdateTaskStatusResponse> {
    const { session, active } = this.sessionOf(request.sessionId, ctx);
    const decision = this.store.view((tx) =>
      decideStatusUpdates(session.nodeId, request.updates, (id) => tx.tasks.get(id)),
    );
    this.stats.statusReports += request.updates.length;
    await active.batcher.enqueue(decision.accepted);
    return {};
  }

  private clusterPeriodMs(): number {
    const fromCluster = this.store.view((tx) => tx.clusters.list()[0]?.spec?.dispatcher?.heartbeatPeriodMs);
    return fromCluster !== undefined && fromCluster > 0 ? fromCluster : this.options.heartbeatPeriodMs;
  }

  private async sweep(signal: AbortSignal, liveness: NodeLiveness, periodMs: number): Promise<void> {
    const intervalMs = Math.max(1, Math.floor(periodMs / SWEEPS_PER_PERIOD));
    while (!signal.aborted) {
      const before = this.clock.now();
      try {
        await this.clock.sleep(intervalMs, signal);
      } catch (err) {
        if (signal.aborted || isAbortError(err)) return;
        throw err;
      }
      // Timers run before pending I/O: a sweep that wakes late after the event loop was held
      // would mark nodes DOWN whose heartbeats sit unread in their sockets. The stall is credited.
      const late = this.clock.now() - before - intervalMs;
      if (late > intervalMs) {
        liveness.extend(late);
        this.stats.stallsCredited++;
        this.logger.info({ lateMs: late }, "the dispatcher's sweep ran late; deadlines moved by as much");
      }
      const expired = liveness.takeExpired(this.clock.now());
      if (expired.length > 0) await this.markDown(expired);
    }
  }

  private async markDown(nodeIds: readonly string[]): Promise<void> {
    for (const id of nodeIds) {
      const sessionId = this.sessionOfNode.get(id);
      if (sessionId !== undefined) this.sessions.get(sessionId)?.controller.abort();
    }
    try {
      await this.store.batch((b) => {
        for (const id of nodeIds) {
          b.update((tx) => {
            const node = tx.nodes.get(id);
            if (node === undefined || node.status?.state === NodeState.DOWN) return;
            tx.nodes.update({
              ...node,
              status: { state: NodeState.DOWN, message: "heartbeat failure", addr: node.status?.addr ?? "" },
            });
          });
        }
      });
      this.stats.markedDown += nodeIds.length;
      this.logger.info({ nodes: nodeIds.length }, "nodes marked down after missed heartbeats");
    } catch (err) {
      // Not lost: a node that stays silent is found again by the next sweep only if tracked, so
      // track it again with a deadline of now.
      this.logger.warn({ err, nodes: nodeIds.length }, "marking nodes down failed; retrying");
      this.active?.liveness.adopt(nodeIds, this.clock.now() - 1);
    }
  }

  private async watchSecretsAndConfigs(signal: AbortSignal): Promise<void> {
    try {
      for await (const event of this.store.watch({
        filter: { kinds: ["secret", "config"], commits: false },
        signal,
      })) {
        if (event.kind !== "change") continue;
        for (const stream of this.streams.values()) {
          const held = stream.held();
          if (held.secrets.has(event.id) || held.configs.has(event.id)) stream.wake.notify();
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      this.logger.warn({ err }, "secret/config watch ended; restarting");
      if (!signal.aborted) await this.watchSecretsAndConfigs(signal);
    }
  }

  /**
   * Wakes the streams whose overlay state may have changed with a change elsewhere in the
   * cluster: a task on a network (of any node) or a node (up, down, gone) for the nodes that hold
   * an overlay; a service or a network for every node (a published port brings the mesh to all).
   */
  private async watchOverlay(signal: AbortSignal): Promise<void> {
    try {
      for await (const event of this.store.watch({
        filter: { kinds: ["task", "node", "service", "network"], commits: false },
        signal,
      })) {
        if (event.kind !== "change") continue;
        let all = event.objectKind === "service" || event.objectKind === "network";
        if (event.objectKind === "task") {
          const task = event.object ?? event.old;
          if (task === undefined || task.networks.length === 0) continue;
        } else if (event.objectKind === "node") {
          // A node coming up or going down moves the mesh's peers on every node.
          all = event.object?.status?.state !== event.old?.status?.state;
        }
        for (const stream of this.streams.values())
          if (all || stream.held().overlay !== undefined) stream.overlayChanged();
      }
    } catch (err) {
      if (signal.aborted) return;
      this.logger.warn({ err }, "overlay watch ended; restarting");
      if (!signal.aborted) await this.watchOverlay(signal);
    }
  }
}

/** "ipv4:10.0.0.2:51234" or "10.0.0.2:51234" or "[::1]:5" → the host part. */
function peerHost(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, "");
  const m = /^\[?([^\]]*?)\]?:\d+$/.exec(bare);
  return m?.[1] ?? bare;
}
