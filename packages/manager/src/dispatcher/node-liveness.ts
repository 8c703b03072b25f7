// Which agents are still alive, from their heartbeats (swarmkit's dispatcher heartbeat manager,
// as a pure object: the caller passes the time). Each heartbeat gets a period with jitter — so
// 10,000 agents that reconnected together spread out — and a deadline of `missedHeartbeats`
// periods; a node past its deadline is DOWN. A new leader adopts the nodes the store says are up
// with a longer deadline (the grace), because their agents are still finding the new leader.
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

export class NodeLiveness {
  private readonly deadlines = new Map<string, number>();
  /** Tracked nodes whose session's connection closed: nothing of theirs can wait unread. */
  private readonly unconnected = new Set<string>();
  /**
   * Each node's deadline counted from its last heartbeat read, with the stalls credited since.
   * `deadlines` keeps the furthest of these (and a grace), so under a leader whose every sweep
   * is late a live node's slack grows; a disconnected node falls back to this one.
   */
  private readonly fresh = new Map<string, number>();

  constructor(private readonly options: NodeLivenessOptions) {}

  /** The nodes whose agents were up under the previous leader: each gets the grace. */
  adopt(nodeIds: Iterable<string>, nowMs: number): void {
    const deadline = nowMs + this.options.graceAfterLeaderChangePeriods * this.options.periodMs;
    for (const id of nodeIds) this.deadlines.set(id, Math.max(this.deadlines.get(id) ?? 0, deadline));
  }

  /** A session opened or a heartbeat arrived: the period to tell the agent. */
  beat(nodeId: string, nowMs: number): number {
    const { periodMs, jitter, missedHeartbeats, random } = this.options;
    const period = Math.round(periodMs * (1 + (random.next() * 2 - 1) * jitter));
    const deadline = nowMs + missedHeartbeats * period;
    // A grace deadline further out is kept: the node proved alive, it did not lose its grace.
    this.deadlines.set(nodeId, Math.max(this.deadlines.get(nodeId) ?? 0, deadline));
    this.fresh.set(nodeId, deadline);
    this.unconnected.delete(nodeId);
    return period;
  }

  /**
   * The node's session ended without a leave (its connection closed: a killed daemon, a broken
   * link) and no other session of it is open. Its deadline is the one counted from its last
   * heartbeat read (the slack it gathered from earlier stalls goes), and a stall of the leader
   * no longer moves it: with no connection, no heartbeat of the node can sit unread. A session
   * it opens again (`beat`) ends this.
   */
  disconnected(nodeId: string): void {
    const deadline = this.deadlines.get(nodeId);
    if (deadline === undefined) return;
    this.unconnected.add(nodeId);
    const fresh = this.fresh.get(nodeId);
    if (fresh !== undefined) this.deadlines.set(nodeId, Math.min(deadline, fresh));
  }

  /**
   * The leader heard nothing for `ms` (its event loop was held: a long pass, a collection, a
   * starved machine), so heartbeats that arrived meanwhile wait unread: every deadline moves by
   * that much, but a disconnected node's. A dead node still expires — only the leader's own
   * stall is credited.
   */
  extend(ms: number): void {
    if (ms <= 0) return;
    for (const [id, deadline] of this.deadlines) {
      if (this.unconnected.has(id)) continue;
      this.deadlines.set(id, deadline + ms);
      const fresh = this.fresh.get(id);
      if (fresh !== undefined) this.fresh.set(id, fresh + ms);
    }
  }

  /** The node's session ended on purpose (it left); it is no longer watched. */
  forget(nodeId: string): void {
    this.deadlines.delete(nodeId);
    this.fresh.delete(nodeId);
    this.unconnected.delete(nodeId);
  }

  isTracked(nodeId: string): boolean {
    return this.deadlines.has(nodeId);
  }

  /** Nodes whose deadline passed, no longer tracked from now on (the caller marks them DOWN). */
  takeExpired(nowMs: number): string[] {
    const expired: string[] = [];
    for (const [id, deadline] of this.deadlines) {
      if (deadline <= nowMs) {
        expired.push(id);
        this.deadlines.delete(id);
        this.fresh.delete(id);
        this.unconnected.delete(id);
      }
    }
    return expired;
  }

  get size(): number {
    return this.deadlines.size;
  }
}
