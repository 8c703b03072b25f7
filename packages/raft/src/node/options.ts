import {
  type Clock,
  type Logger,
  type Random,
  ShoalError,
  silentLogger,
  systemClock,
  systemRandom,
} from "@shoal/base";
import { RaftErrorCode } from "../errors.js";
import type { RaftNodeOptions } from "./raft-node.js";

// RaftNode's defaults, resolved once in its constructor (never at the place they are used).

/** One tick every 100 ms. */
export const DEFAULT_TICK_MS = 100;
/** An election after 1–2 s of silence at the default tick. */
export const DEFAULT_ELECTION_TICKS = 10;
export const DEFAULT_HEARTBEAT_TICKS = 1;
/** A snapshot every 10,000 applied entries. */
export const DEFAULT_SNAPSHOT_ENTRIES = 10_000;
/** Entries kept behind a snapshot so a slightly slow follower catches up without one. */
export const DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES = 1000;
/**
 * Also a snapshot once the entries applied since the last one hold this many bytes: the log
 * lives in memory until it is compacted, and 10,000 group-committed entries of a busy cluster
 * (a scheduling pass, a status batch: up to 1.5 MiB each) held hundreds of MiB on the leader.
 */
export const DEFAULT_SNAPSHOT_BYTES = 64 * 1024 * 1024;
/** The catch-up entries behind a snapshot are also cut to this many bytes (the newest kept). */
export const DEFAULT_SNAPSHOT_CATCH_UP_BYTES = 16 * 1024 * 1024;

/** The options a running RaftNode uses, every default filled in. */
export interface ResolvedNodeOptions {
  clock: Clock;
  random: Random;
  logger: Logger;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  snapshotEntries: number;
  snapshotCatchUpEntries: number;
  snapshotBytes: number;
  snapshotCatchUpBytes: number;
  readTimeoutMs: number;
}

function invalid(message: string): ShoalError {
  return new ShoalError(RaftErrorCode.InvalidConfig, message);
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalid(`raft node ${name} ${value} must be an integer ≥ 0`);
  return value;
}

export function resolveNodeOptions(o: RaftNodeOptions): ResolvedNodeOptions {
  const tickMs = o.tickMs ?? DEFAULT_TICK_MS;
  if (!(tickMs > 0)) throw invalid(`raft node tickMs ${tickMs} must be greater than 0`);
  const electionTicks = nonNegativeInteger("electionTicks", o.electionTicks ?? DEFAULT_ELECTION_TICKS);
  const readTimeoutMs = o.readTimeoutMs ?? 2 * 2 * electionTicks * tickMs; // twice the longest election timeout
  if (!(readTimeoutMs > 0)) throw invalid(`raft node readTimeoutMs ${readTimeoutMs} must be greater than 0`);
  return {
    clock: o.clock ?? systemClock,
    random: o.random ?? systemRandom(),
    logger: (o.logger ?? silentLogger()).child({ module: "raft/node", raftId: o.id }),
    tickMs,
    electionTicks,
    heartbeatTicks: nonNegativeInteger("heartbeatTicks", o.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS),
    snapshotEntries: nonNegativeInteger("snapshotEntries", o.snapshotEntries ?? DEFAULT_SNAPSHOT_ENTRIES),
    snapshotCatchUpEntries: nonNegativeInteger(
      "snapshotCatchUpEntries",
      o.snapshotCatchUpEntries ?? DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
    ),
    snapshotBytes: nonNegativeInteger("snapshotBytes", o.snapshotBytes ?? DEFAULT_SNAPSHOT_BYTES),
    snapshotCatchUpBytes: nonNegativeInteger(
      "snapshotCatchUpBytes",
      o.snapshotCatchUpBytes ?? DEFAULT_SNAPSHOT_CATCH_UP_BYTES,
    ),
    readTimeoutMs,
  };
}
