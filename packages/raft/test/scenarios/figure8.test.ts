import { describe, expect, it } from "vitest";
import type { RaftConfig } from "../../src/index.js";
import { SafetyViolation } from "../sim/safety.js";
import { faultPreset, Simulator } from "../sim/simulator.js";
import { cluster, ids, put, putAtLeader, waitApplied, waitLeader } from "./helpers.js";

/**
 * Figure 8 of the Raft paper, scripted with partitions on 5 nodes. A leader of a later term
 * replicates an entry of an earlier term (index i) to a majority; a node holding a different
 * entry at i can still win the next election and overwrite it. A correct leader never counts that
 * earlier-term entry as committed; the broken variant does, and the checkers must notice.
 */
function figure8(raftConfig: Partial<RaftConfig>): Simulator {
  const sim = cluster(5, { raftConfig: { maxSizePerMsg: 1, maxInflightMsgs: 1, ...raftConfig } });
  // Start from identical logs on all five nodes.
  const first = putAtLeader(sim, "k", "init");
  expect(waitApplied(sim, first, ids(5))).toBe(true);
  const a = waitLeader(sim);
  const b = ids(5).find((i) => i !== a) as number;
  const others = ids(5).filter((i) => i !== a && i !== b);
  // (a) A (with B) appends X at index i; C, D, E never see it.
  sim.partition([[a, b], others]);
  const r = put(sim, a, "k", "X");
  expect(r.ok && !r.forwarded).toBe(true);
  const i = r.ok && !r.forwarded ? r.index : -1;
  expect(sim.runUntil(() => (sim.disks.get(b)?.lastIndex() ?? 0) >= i, 1000)).toBe(true);
  // (b) One of C, D, E wins a later term and is cut off at once: its own entry at i stays local.
  const e = waitLeader(sim, 3000, others);
  sim.partition([[a, b], [e], others.filter((x) => x !== e)]);
  const [p, q] = others.filter((x) => x !== e) as [number, number];
  // (c) A or B leads again with P; it replicates X (old term) to P, then is cut off.
  sim.partition([[a, b, p], [q], [e]]);
  const l2 = waitLeader(sim, 5000, [a, b]);
  const reached = sim.runUntil(() => (sim.nodes.get(l2)?.rn.status().progress.get(p)?.match ?? 0) >= i, 3000);
  expect(reached).toBe(true);
  sim.partition([
    [a, b],
    [p, q, e],
  ]);
  // (d) E wins with P and Q (its entry at i has the higher term) and overwrites index i. (E may
  // first hand its entry to Q as a stale leader; then Q can win instead — same outcome.)
  waitLeader(sim, 5000, [e, q]);
  expect(waitApplied(sim, i, [e, p, q])).toBe(true);
  sim.heal();
  const last = putAtLeader(sim, "k", "end");
  expect(waitApplied(sim, last, ids(5))).toBe(true);
  return sim;
}

describe("Figure 8", () => {
  it("never commits an earlier-term entry by counting replicas (scripted)", () => {
    const sim = figure8({});
    // X was overwritten everywhere and never applied.
    for (const id of ids(5)) expect(sim.nodes.get(id)?.sm.get("k")).toBe("end");
  });

  it("the checkers catch the deliberately broken commit rule in the same script", () => {
    let caught: unknown;
    try {
      figure8({ testingUnsafe: "commitPreviousTerm" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SafetyViolation);
    expect((caught as SafetyViolation).property).toMatch(
      /leader completeness|state machine safety|log matching/,
    );
  });

  function leaderCrashLoop(seed: number, unreliable: boolean): Simulator {
    const sim = new Simulator({
      seed,
      nodes: 5,
      faults: unreliable
        ? { ...faultPreset("net"), partitions: false }
        : { ...faultPreset("none"), delayMaxMs: 5 },
      snapshotEvery: 1_000_000,
    });
    let up = 5;
    for (let iter = 0; iter < 40; iter++) {
      const leader = sim.leader();
      if (leader !== undefined) put(sim, leader, `k${iter % 3}`, `v${iter}`);
      sim.runFor(sim.random.chance(0.1) ? sim.random.int(500) : sim.random.int(13));
      const l = sim.leader();
      if (l !== undefined && sim.random.chance(0.5)) {
        sim.crash(l);
        up--;
      }
      if (up < 3) {
        const dead = ids(5).filter((id) => !sim.nodes.get(id)?.alive);
        sim.restart(sim.random.pick(dead));
        up++;
      }
    }
    for (const id of ids(5)) sim.restart(id);
    sim.faults = { ...faultPreset("none"), delayMaxMs: 5 };
    const index = putAtLeader(sim, "done", "1");
    expect(waitApplied(sim, index, ids(5), 5000)).toBe(true);
    return sim;
  }

  it("agrees after random leader crashes (reliable network)", () => {
    for (let seed = 1; seed <= 5; seed++) leaderCrashLoop(seed, false);
  });

  it("agrees after random leader crashes (unreliable network)", () => {
    for (let seed = 1; seed <= 5; seed++) leaderCrashLoop(seed, true);
  });
});

describe("churn", () => {
  it("survives random crashes and restarts of any node under client load", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = new Simulator({
        seed,
        nodes: 5,
        faults: { ...faultPreset("crash"), diskErrorRate: 0.01 },
        workloadMs: 8000,
      }).run();
      expect(r.ok, `seed ${seed}: ${r.violation}`).toBe(true);
      expect(r.writesOk).toBeGreaterThan(0);
    }
  });
});
