import * as grpc from "@grpc/grpc-js";
import { type Clock, isAbortError, type Logger, type Random, ShoalError } from "@shoal/base";
import {
  type AssignmentsMessage,
  AssignmentsType,
  type Config,
  DispatcherClient,
  type Node,
  type NodeDescription,
  type NodeOverlay,
  type Secret,
  type SessionClientMessage,
  type SessionMessage,
  type SessionServerMessage,
  type Task,
} from "@shoal/proto";
import { backoffDelayMs, DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS } from "../controller/backoff.js";
import { AgentErrorCode } from "../errors.js";
import type { StatusReporter } from "../reporter/status-reporter.js";
import type { AssignmentSink } from "../worker.js";
import { type ManagerAddress, pickManager } from "./manager-list.js";
import { sessionOpenTimeoutMs } from "./open-timeout.js";

/**
 * How long a dispatcher may take to send the session id before the agent tries another, on the
 * first try; it grows after failed ones (`sessionOpenTimeoutMs`).
 */
export const DEFAULT_SESSION_OPEN_TIMEOUT_MS = 10_000;
/** A status batch not acknowledged by then is sent again (the reporter retries). */
export const STATUS_CALL_TIMEOUT_MS = 10_000;
/** Used until the dispatcher says otherwise; twice this is how long a heartbeat's answer may take. */
export const DEFAULT_HEARTBEAT_PERIOD_MS = 5_000;

export interface DispatcherSessionOptions {
  /** Where to start; replaced by the list each session message carries. */
  managers: ManagerAddress[];
  credentials: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  describe: () => NodeDescription;
  assignments: AssignmentSink;
  /** The node object each session message carries (its container subnet, …). */
  onNode?: (node: Node) => void;
  reporter: StatusReporter;
  clock: Clock;
  random: Random;
  logger: Logger;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  sessionOpenTimeoutMs?: number;
  /** Every session message (the node object, the managers): the daemon follows role changes. */
  onSessionMessage?: (m: SessionMessage) => void;
}

/**
 * One dispatcher session at a time (DESIGN.md §5, swarmkit's `agent/session.go`): open the
 * session stream, heartbeat on it at the period the dispatcher answers each heartbeat with (an
 * answer that does not come within twice the default period ends the session), apply the
 * assignment stream (a complete set, then increments), and hand the status reporter a sender
 * bound to the session. Any failure
 * ends the session; the next one goes to another manager of the weighted list after a randomized
 * backoff (100 ms → 8 s), reset once a session has proven itself with a heartbeat. Losing every
 * manager changes nothing on the node: the worker keeps its tasks until a manager says otherwise.
 */
export class DispatcherSession {
  private managerList: ManagerAddress[];
  private sessionId = "";
  private lastFailed: string | undefined;
  /** The leader a follower named when it refused the session: tried next. */
  private redirect: ManagerAddress | undefined;
  private failures = 0;
  private readonly log: Logger;

  constructor(private readonly opts: DispatcherSessionOptions) {
    if (opts.managers.length === 0) {
      throw new ShoalError(
        AgentErrorCode.NoManagers,
        "dispatcher session needs at least one manager address",
        {
          hint: "give the address of a manager (host:port) from `shoal cluster join`",
        },
      );
    }
    this.managerList = [...opts.managers];
    this.log = opts.logger.child({ module: "agent/session" });
  }

  /** The current weighted manager list (the latest a dispatcher sent). */
  managers(): ManagerAddress[] {
    return [...this.managerList];
  }

  /** The id of the open session, "" while there is none. */
  currentSessionId(): string {
    return this.sessionId;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const manager = this.redirect ?? pickManager(this.managerList, this.opts.random, this.lastFailed);
      this.redirect = undefined;
      try {
        await this.runSession(manager.addr, signal);
      } catch (err) {
        if (signal.aborted) return;
        this.lastFailed = manager.addr;
        this.log.warn({ err, manager: manager.addr }, "dispatcher session ended");
        // A follower names the leader: go there next (it may be missing from a stale list).
        const leader = leaderNamedBy(err);
        if (leader !== undefined && leader !== manager.addr) this.redirect = { addr: leader, weight: 1 };
      }
      if (signal.aborted) return;
      const delayMs = backoffDelayMs(this.failures++, this.opts.random, {
        minMs: this.opts.backoffMinMs ?? DEFAULT_BACKOFF_MIN_MS,
        maxMs: this.opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS,
      });
      try {
        await this.opts.clock.sleep(delayMs, signal);
      } catch (err) {
        if (isAbortError(err) || signal.aborted) return;
        throw err;
      }
    }
  }

  /** Resolves or rejects when the session ends; never both streams left open. */
  private async runSession(addr: string, outer: AbortSignal): Promise<void> {
    const client = new DispatcherClient(addr, this.opts.credentials, this.opts.channelOptions ?? {});
    const ended = new AbortController();
    const signal = AbortSignal.any([outer, ended.signal]);
    let failure: unknown;
    const fail = (err: unknown) => {
      failure ??= err;
      ended.abort();
    };
    const calls: { cancel(): void }[] = [];
    try {
      const session = client.session();
      calls.push(session);
      // Every listener goes on at once: a stream that errors with no 'error' listener would throw,
      // and messages that arrive together must not fall between two sets of listeners.
      const first = this.firstMessage(session, addr, signal);
      let opened = false;
      const early: SessionMessage[] = [];
      const heartbeats = new HeartbeatAnswers();
      session.on("data", (m: SessionServerMessage) => {
        const kind = m.kind;
        if (kind?.$case === "heartbeat") heartbeats.answered(Number(kind.value.periodMs));
        else if (kind?.$case !== "session") return;
        else if (opened) this.applySessionMessage(kind.value);
        else early.push(kind.value);
      });
      session.on("error", fail);
      session.on("end", () => fail(new Error(`dispatcher ${addr} ended the session`)));
      session.write({
        kind: {
          $case: "open",
          value: { description: this.opts.describe(), previousSessionId: this.sessionId },
        },
      });
      const firstMessage = await first.catch((err: unknown) => {
        // The session's own error (TLS refused, unavailable) says more than "closed before its id".
        throw failure ?? err;
      });
      opened = true;
      this.sessionId = firstMessage.sessionId;
      for (const m of early) this.applySessionMessage(m);
      this.log.info({ manager: addr, sessionId: this.sessionId }, "dispatcher session open");

      const assignments = client.assignments({ sessionId: this.sessionId });
      calls.push(assignments);
      let resultsIn: string | undefined;
      assignments.on("data", (m: AssignmentsMessage) => {
        try {
          resultsIn = this.applyAssignments(m, resultsIn);
        } catch (err) {
          fail(err);
        }
      });
      assignments.on("error", fail);
      assignments.on("end", () => fail(new Error(`dispatcher ${addr} ended the assignments stream`)));

      const sessionId = this.sessionId;
      this.opts.reporter.setSender(
        (updates) =>
          new Promise<void>((resolve, reject) => {
            client.updateTaskStatus(
              { sessionId, updates },
              new grpc.Metadata(),
              { deadline: new Date(this.opts.clock.now() + STATUS_CALL_TIMEOUT_MS) },
              (err) => (err ? reject(err) : resolve()),
            );
          }),
      );
      await this.heartbeatLoop(session, heartbeats, addr, signal).catch(fail);
    } finally {
      this.opts.reporter.setSender(undefined);
      for (const call of calls) call.cancel();
      client.close();
    }
    if (!outer.aborted && failure !== undefined) throw failure;
  }

  /** The session's first message; rejects on timeout or when the session ends (or is aborted) first. */
  private firstMessage(
    session: grpc.ClientDuplexStream<SessionClientMessage, SessionServerMessage>,
    addr: string,
    ended: AbortSignal,
  ): Promise<SessionMessage> {
    const timeoutMs = sessionOpenTimeoutMs(
      this.opts.sessionOpenTimeoutMs ?? DEFAULT_SESSION_OPEN_TIMEOUT_MS,
      this.failures,
      this.opts.random,
    );
    return new Promise((resolve, reject) => {
      const timer = this.opts.clock.setTimeout(
        () => done(new Error(`dispatcher ${addr} sent no session id within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onEnded = () => done(new Error(`dispatcher ${addr} closed the session before sending its id`));
      const done = (err: unknown, m?: SessionMessage) => {
        this.opts.clock.clearTimeout(timer);
        session.off("data", onData);
        ended.removeEventListener("abort", onEnded);
        if (m !== undefined) resolve(m);
        else reject(err);
      };
      const onData = (message: SessionServerMessage) => {
        if (message.kind?.$case !== "session") return;
        const m = message.kind.value;
        if (m.sessionId === "") {
          done(
            new ShoalError(
              AgentErrorCode.SessionProtocol,
              `dispatcher ${addr} opened a session without an id`,
            ),
          );
        } else done(undefined, m);
      };
      session.on("data", onData);
      ended.addEventListener("abort", onEnded, { once: true });
    });
  }

  private applySessionMessage(m: SessionMessage): void {
    const managers = m.managers.flatMap((w) =>
      w.peer === undefined || w.peer.addr === "" ? [] : [{ addr: w.peer.addr, weight: w.weight }],
    );
    if (managers.length > 0) this.managerList = managers;
    if (m.node !== undefined) this.opts.onNode?.(m.node);
    this.opts.onSessionMessage?.(m);
  }

  /** Returns the set id the next increment must apply to. */
  private applyAssignments(m: AssignmentsMessage, resultsIn: string | undefined): string {
    if (m.type === AssignmentsType.COMPLETE) {
      const tasks: Task[] = [];
      const secrets: Secret[] = [];
      const configs: Config[] = [];
      let overlay: NodeOverlay | undefined;
      for (const c of m.changes) {
        const item = c.assignment?.item;
        if (item?.$case === "task") tasks.push(item.value);
        else if (item?.$case === "secret") secrets.push(item.value);
        else if (item?.$case === "config") configs.push(item.value);
        else if (item?.$case === "overlay") overlay = item.value;
      }
      this.opts.assignments.applyComplete(tasks, secrets, configs, overlay);
    } else {
      if (resultsIn === undefined || m.appliesTo !== resultsIn) {
        // Applying it would build on a set we do not have; a new session brings a complete one.
        throw new ShoalError(
          AgentErrorCode.SessionProtocol,
          `assignments increment applies to "${m.appliesTo}" but the agent holds "${resultsIn ?? "(none)"}"`,
        );
      }
      this.opts.assignments.applyIncremental(m.changes);
    }
    return m.resultsIn;
  }

  private async heartbeatLoop(
    session: grpc.ClientDuplexStream<SessionClientMessage, SessionServerMessage>,
    heartbeats: HeartbeatAnswers,
    addr: string,
    signal: AbortSignal,
  ): Promise<void> {
    const answerTimeoutMs = DEFAULT_HEARTBEAT_PERIOD_MS * 2;
    while (!signal.aborted) {
      const answer = heartbeats.next();
      session.write({ kind: { $case: "heartbeat", value: {} } });
      const timer = this.opts.clock.setTimeout(
        () =>
          heartbeats.fail(new Error(`dispatcher ${addr} answered no heartbeat within ${answerTimeoutMs} ms`)),
        answerTimeoutMs,
      );
      const onAbort = () => heartbeats.fail(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      let periodMs: number;
      try {
        periodMs = await answer;
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      } finally {
        this.opts.clock.clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      }
      // A session that heartbeats is healthy: the next failure starts the backoff from the bottom.
      this.failures = 0;
      this.lastFailed = undefined;
      const nextMs = periodMs > 0 ? periodMs : DEFAULT_HEARTBEAT_PERIOD_MS;
      try {
        await this.opts.clock.sleep(nextMs, signal);
      } catch (err) {
        if (isAbortError(err) || signal.aborted) return;
        throw err;
      }
    }
  }
}

/** The one heartbeat out on a session stream and its answer (the period to wait next). */
class HeartbeatAnswers {
  private waiter: { resolve: (periodMs: number) => void; reject: (err: unknown) => void } | undefined;

  /** The answer to the heartbeat about to be sent. */
  next(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** An answer came (one not asked for is ignored). */
  answered(periodMs: number): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(periodMs);
  }

  fail(err: unknown): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }
}

/** The manager's status-details trailer (binary, JSON; SHOAL_DETAILS_TRAILER of @shoal/manager). */
const DETAILS_TRAILER = "shoal-details-bin";

/** The leader address a refusing follower puts in its status details (MANAGER_NOT_LEADER). */
function leaderNamedBy(err: unknown): string | undefined {
  const raw = (err as Partial<grpc.ServiceError> | undefined)?.metadata?.get(DETAILS_TRAILER)[0];
  if (raw === undefined) return undefined;
  try {
    const leaderAddr = (JSON.parse(raw.toString()) as { leaderAddr?: unknown }).leaderAddr;
    return typeof leaderAddr === "string" && leaderAddr !== "" ? leaderAddr : undefined;
  } catch {
    return undefined;
  }
}
