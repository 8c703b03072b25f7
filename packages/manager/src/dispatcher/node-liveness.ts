// Which agents are still alive, from their heartbeats (swarmkit's dispatcher heartbeat manager,
// as a pure object: the caller passes the time). Each heartbeat gets a period with jitter — so
// 10,000 agents that reconnected together spread out — and a deadline of `missedHeartbeats`
// periods; a node past its deadline is DOWN. A new leader adopts the nodes the store says are up
// with a longer deadline (the grace), because their agents are still finding the new leader.
//
// The leader's own stalls (a long pass over 100,000 tasks, a collection, a starved machine) must
// not make a live node DOWN, and must not postpone a dead one either. Three rules do both:
//   - the caller judges deadlines only after an I/O turn, as of the turn's start (takeExpired):
//     heartbeats that came while the event loop was held are counted first;
//   - a deadline runs from when the answer to the heartbeat went out (answersSent), not from
//     when the heartbeat was read: an agent sends its next heartbeat a period after the answer
//     comes, so a stall between reading and answering delays the agent too;
//   - a stall is credited (stalled) only to adopted nodes that have no session yet: they cannot
//     connect while the leader is held, and nothing of theirs waits in a socket.
// A node with a session gets no credit, so a dead node is DOWN three periods after the answer
// to its last heartbeat, at the first sweep after that, however often the leader stalls.
import type { Random } from "@shoal/base";

/** Heartbeat period told to agents (the cluster's `dispatcher.heartbeatPeriodMs` overrides it). */
export const DEFAULT_HEARTBEAT_PERIOD_MS = 1_000;
/** Each period is the base ± this fraction, at random. */
export const DEFAULT_HEARTBEAT_JITTER = 0.1;
/** A node that misses this many periods is DOWN. */
export const DEFAULT_MISSED_HEARTBEATS = 3;
/** After a leader change, nodes get this many periods to open a session with the new leader. */
export const DEFAULT_LEADER_CHANGE_GRACE_PERIODS = 6;

export interface NodeLivenessOptions {
  periodMs: number;
  jitter: number;
  missedHeartbeats: number;
  graceAfterLeaderChangePeriods: number;
  random: Random;
}

interface Deadline {
  atMs: number;
  /** Adopted after a leader change and not heard from since: the leader's stalls are credited. */
  awaitingSession: boolean;
}

export class NodeLiveness {
  private readonly deadlines = new Map<string, Deadline>();
  /** Heartbeats read whose answers have not gone out yet, with the period each answer names. */
  private readonly unanswered = new Map<string, number>();

  constructor(private readonly options: NodeLivenessOptions) {}

  /** The nodes whose agents were up under the previous leader: each gets the grace. */
  adopt(nodeIds: Iterable<string>, nowMs: number): void {
    const atMs = nowMs + this.options.graceAfterLeaderChangePeriods * this.options.periodMs;
    for (const id of nodeIds) {
      const current = this.deadlines.get(id);
      if (current === undefined) this.deadlines.set(id, { atMs, awaitingSession: true });
      else current.atMs = Math.max(current.atMs, atMs);
    }
  }

  /**
   * A session opened or a heartbeat arrived: the period to tell the agent. The deadline is set
   * again from `answersSent` once the answer is out.
   */
  beat(nodeId: string, nowMs: number): number {
    const { periodMs, jitter, random } = this.options;
    const period = Math.round(periodMs * (1 + (random.next() * 2 - 1) * jitter));
    this.extendTo(nodeId, nowMs, period);
    this.unanswered.set(nodeId, period);
    return period;
  }

  /** The answers to the heartbeats read so far went out at `nowMs`: their deadlines run from now. */
  answersSent(nowMs: number): void {
    for (const [id, period] of this.unanswered) if (this.deadlines.has(id)) this.extendTo(id, nowMs, period);
    this.unanswered.clear();
  }

  /**
   * The leader's event loop was held for `ms`: adopted nodes without a session yet could not
   * connect meanwhile, so their grace moves by as much. Nodes with a session get nothing.
   */
  stalled(ms: number): void {
    if (ms <= 0) return;
    for (const d of this.deadlines.values()) if (d.awaitingSession) d.atMs += ms;
  }

  /** Marking these nodes DOWN failed: they are expired again at the next look. */
  expireAgain(nodeIds: Iterable<string>): void {
    for (const id of nodeIds)
      if (!this.deadlines.has(id)) this.deadlines.set(id, { atMs: -Infinity, awaitingSession: false });
  }

  /** The node's session ended on purpose (it left); it is no longer watched. */
  forget(nodeId: string): void {
    this.deadlines.delete(nodeId);
    this.unanswered.delete(nodeId);
  }

  isTracked(nodeId: string): boolean {
    return this.deadlines.has(nodeId);
  }

  /**
   * The nodes whose deadline passed by `asOfMs`, no longer tracked from now on (the caller marks
   * them DOWN), and how long past its deadline the most overdue was. `asOfMs` is a time by which
   * every heartbeat that had reached this process has been counted: the dispatcher's sweep
   * passes the start of an I/O turn that has run since.
   */
  takeExpired(asOfMs: number): { nodeIds: string[]; maxOverdueMs: number } {
    const nodeIds: string[] = [];
    let maxOverdueMs = 0;
    for (const [id, deadline] of this.deadlines) {
      if (deadline.atMs <= asOfMs) {
        nodeIds.push(id);
        if (Number.isFinite(deadline.atMs)) maxOverdueMs = Math.max(maxOverdueMs, asOfMs - deadline.atMs);
        this.deadlines.delete(id);
        this.unanswered.delete(id);
      }
    }
    return { nodeIds, maxOverdueMs };
  }

  get size(): number {
    return this.deadlines.size;
  }

  // A deadline further out (the grace) is kept: the node proved alive, it did not lose its grace.
  private extendTo(nodeId: string, fromMs: number, period: number): void {
    const atMs = fromMs + this.options.missedHeartbeats * period;
    const current = this.deadlines.get(nodeId);
    if (current === undefined) this.deadlines.set(nodeId, { atMs, awaitingSession: false });
    else {
      current.atMs = Math.max(current.atMs, atMs);
      current.awaitingSession = false;
    }
  }
}
