import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../../src/index.js";
import { faultPreset } from "../sim/simulator.js";
import { cluster, ids, putAtLeader, value, waitApplied, waitLeader } from "./helpers.js";

function confirmed(
  sim: ReturnType<typeof cluster>,
  id: number,
  fn: (voters: number[], learners: number[]) => boolean,
): boolean {
  return sim.runUntil(() => {
    const cs = sim.nodes.get(id)?.rn.confState();
    return cs !== undefined && fn(cs.voters, cs.learners);
  }, 3000);
}

describe("membership", () => {
  it("adds a learner that catches up, promotes it, then removes a voter, all under load", () => {
    const sim = cluster(3, { seed: 3, snapshotEvery: 30 });
    sim.startClients(3);
    sim.runFor(500);
    // Add node 4 as a learner: it starts empty and learns everything (membership included) from the log.
    sim.addNode(4, new MemoryStorage());
    let leader = waitLeader(sim);
    expect(sim.nodes.get(leader)?.proposeConfChange({ type: "addLearner", nodeId: 4 }).ok).toBe(true);
    expect(confirmed(sim, leader, (_v, l) => l.includes(4))).toBe(true);
    sim.runFor(500);
    expect(confirmed(sim, 4, (v, l) => l.includes(4) && v.length === 3)).toBe(true);
    // Promote once it has caught up.
    leader = waitLeader(sim);
    const leaderApplied = sim.nodes.get(leader)?.appliedUpTo() ?? 0;
    expect(waitApplied(sim, leaderApplied, [4])).toBe(true);
    expect(sim.nodes.get(leader)?.proposeConfChange({ type: "addVoter", nodeId: 4 }).ok).toBe(true);
    expect(confirmed(sim, leader, (v) => v.includes(4) && v.length === 4)).toBe(true);
    sim.runFor(500);
    // Remove a voter that is not the leader.
    leader = waitLeader(sim);
    const victim = ids(3).find((i) => i !== leader) as number;
    expect(sim.nodes.get(leader)?.proposeConfChange({ type: "removeNode", nodeId: victim }).ok).toBe(true);
    expect(confirmed(sim, leader, (v) => !v.includes(victim) && v.length === 3)).toBe(true);
    sim.crash(victim);
    sim.runFor(1000);
    sim.stopClients();
    const rest = [...ids(4)].filter((i) => i !== victim);
    const index = putAtLeader(sim, "final", "yes");
    expect(waitApplied(sim, index, rest)).toBe(true);
    for (const id of rest) expect(value(sim, id, "final")).toBe("yes");
    expect(sim.writesOk).toBeGreaterThan(10);
  });

  it("removing the leader makes it step down and the rest elect a new one", () => {
    const sim = cluster(3);
    const leader = waitLeader(sim);
    putAtLeader(sim, "k", "before");
    expect(sim.nodes.get(leader)?.proposeConfChange({ type: "removeNode", nodeId: leader }).ok).toBe(true);
    const stepped = sim.runUntil(() => sim.nodes.get(leader)?.rn.status().role !== "leader", 2000);
    expect(stepped).toBe(true);
    sim.crash(leader);
    const rest = ids(3).filter((i) => i !== leader);
    const next = waitLeader(sim, 3000, rest);
    // The new leader applies the removal once it commits an entry of its own term.
    expect(
      sim.runUntil(() => sim.nodes.get(next)?.rn.confState().voters.join(",") === rest.join(","), 2000),
    ).toBe(true);
    const index = putAtLeader(sim, "k", "after");
    expect(waitApplied(sim, index, rest)).toBe(true);
  });

  it("refuses a second conf change while one is pending", () => {
    const sim = cluster(3);
    const leader = waitLeader(sim);
    sim.addNode(4, new MemoryStorage());
    sim.addNode(5, new MemoryStorage());
    const node = sim.nodes.get(leader);
    expect(node?.proposeConfChange({ type: "addLearner", nodeId: 4 }).ok).toBe(true);
    expect(node?.proposeConfChange({ type: "addLearner", nodeId: 5 })).toMatchObject({
      ok: false,
      reason: "confChangePending",
    });
    expect(confirmed(sim, leader, (_v, l) => l.includes(4))).toBe(true);
    expect(node?.proposeConfChange({ type: "addLearner", nodeId: 5 }).ok).toBe(true);
  });

  it("membership changes under network faults keep every safety property", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const sim = cluster(3, {
        seed,
        faults: { ...faultPreset("net"), partitions: false },
        snapshotEvery: 25,
      });
      sim.startClients(2);
      sim.runFor(300);
      sim.addNode(4, new MemoryStorage());
      for (const cc of [
        { type: "addLearner", nodeId: 4 },
        { type: "addVoter", nodeId: 4 },
        { type: "removeNode", nodeId: 1 },
      ] as const) {
        const ok = sim.runUntil(() => {
          const l = sim.leader();
          return l !== undefined && (sim.nodes.get(l)?.proposeConfChange(cc).ok ?? false);
        }, 5000);
        expect(ok, `seed ${seed}: could not propose ${cc.type} ${cc.nodeId}`).toBe(true);
        sim.runFor(800);
      }
      sim.stopClients();
      sim.faults = { ...faultPreset("none") };
      sim.runFor(1500);
      const l = waitLeader(sim, 3000, [2, 3, 4]);
      expect(sim.nodes.get(l)?.rn.confState().voters, `seed ${seed}`).toEqual([2, 3, 4]);
    }
  });
});
