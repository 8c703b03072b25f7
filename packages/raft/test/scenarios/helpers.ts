import { expect } from "vitest";
import type { ProposeResult } from "../../src/index.js";
import { encodeCommand } from "../sim/kv.js";
import { type FaultConfig, faultPreset, type SimOptions, Simulator } from "../sim/simulator.js";

/** A reliable network with short delays: scenarios script their own faults. */
export const RELIABLE: FaultConfig = { ...faultPreset("none"), delayMaxMs: 5, fifo: true };

/**
 * Scenario runs are deterministic for a seed; RAFT_SCENARIO_SEED shifts every scenario's seed so
 * repeated runs explore different timings (`for s in $(seq 1 100); do RAFT_SCENARIO_SEED=$s ...`).
 */
export const SCENARIO_SEED = Number(process.env.RAFT_SCENARIO_SEED ?? 0);

export function cluster(nodes: number, opts: Partial<SimOptions> = {}): Simulator {
  return new Simulator({
    nodes,
    faults: RELIABLE,
    snapshotEvery: 1_000_000,
    ...opts,
    seed: (opts.seed ?? 1) + SCENARIO_SEED * 7919,
  });
}

/** Runs until a live leader exists (optionally one of `among`) and returns it. */
export function waitLeader(sim: Simulator, maxMs = 3000, among?: number[]): number {
  let leader: number | undefined;
  const ok = sim.runUntil(() => {
    leader = sim.leader();
    return leader !== undefined && (among === undefined || among.includes(leader));
  }, maxMs);
  expect(
    ok,
    `no leader${among ? ` among ${among.join(",")}` : ""} within ${maxMs}ms (t=${sim.now()}ms)`,
  ).toBe(true);
  return leader as number;
}

let op = 0;

/** Proposes a KV put through node `id` (the leader, normally). */
export function put(sim: Simulator, id: number, key: string, value: string): ProposeResult {
  const node = sim.nodes.get(id);
  if (node === undefined) throw new Error(`no node ${id}`);
  return node.propose(encodeCommand({ client: 999, op: ++op, kind: "put", key, value }));
}

/** Proposes at the leader and returns the index it landed at. */
export function putAtLeader(sim: Simulator, key: string, value: string): number {
  const leader = waitLeader(sim);
  const res = put(sim, leader, key, value);
  expect(
    res.ok && !res.forwarded,
    `proposal at leader ${leader} was not appended: ${JSON.stringify(res)}`,
  ).toBe(true);
  return res.ok && !res.forwarded ? res.index : -1;
}

/** Runs until every node in `ids` applied `index`; returns whether they did. */
export function waitApplied(sim: Simulator, index: number, ids: number[], maxMs = 3000): boolean {
  return sim.runUntil(() => ids.every((id) => (sim.nodes.get(id)?.appliedUpTo() ?? 0) >= index), maxMs);
}

export function value(sim: Simulator, id: number, key: string): string | undefined {
  return sim.nodes.get(id)?.sm.get(key);
}

export function ids(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

export function term(sim: Simulator, id: number): number {
  return sim.nodes.get(id)?.rn.status().term ?? -1;
}
