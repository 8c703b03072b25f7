import { describe, expect, it } from "vitest";
import { cluster, ids, putAtLeader, term, waitApplied, waitLeader } from "./helpers.js";

describe("elections", () => {
  it("elects one leader initially and keeps it while the network is healthy", () => {
    const sim = cluster(3);
    const leader = waitLeader(sim, 1000);
    const t = term(sim, leader);
    sim.runFor(3000);
    expect(sim.leader()).toBe(leader);
    expect(term(sim, leader)).toBe(t);
    for (const id of ids(3)) expect(sim.nodes.get(id)?.rn.status().leader).toBe(leader);
  });

  it("re-elects after the leader is lost, and the old leader rejoins as a follower", () => {
    const sim = cluster(3);
    const old = waitLeader(sim);
    sim.isolate(old);
    const others = ids(3).filter((i) => i !== old);
    const next = waitLeader(sim, 3000, others);
    expect(next).not.toBe(old);
    sim.heal();
    sim.runFor(1000);
    expect(sim.nodes.get(old)?.rn.status().role).toBe("follower");
    expect(sim.leader()).toBe(next);
  });

  it("survives many elections with 7 nodes", () => {
    const sim = cluster(7, { seed: 7 });
    waitLeader(sim);
    for (let round = 0; round < 12; round++) {
      const down = sim.random.shuffle(ids(7)).slice(0, 3);
      sim.isolate(...down);
      const leader = waitLeader(
        sim,
        3000,
        ids(7).filter((i) => !down.includes(i)),
      );
      const index = putAtLeader(sim, "k", `r${round}`);
      expect(waitApplied(sim, index, [leader])).toBe(true);
      sim.heal();
      sim.runFor(200);
    }
    const index = putAtLeader(sim, "k", "final");
    expect(waitApplied(sim, index, ids(7))).toBe(true);
  });

  it("PreVote keeps a rejoining partitioned node from deposing the leader", () => {
    const sim = cluster(3);
    const leader = waitLeader(sim);
    sim.runFor(200); // everyone hears the leader
    const t = term(sim, leader);
    const lonely = ids(3).find((i) => i !== leader) as number;
    sim.isolate(lonely);
    sim.runFor(3000); // many election timeouts: without PreVote its term would climb
    expect(term(sim, lonely)).toBe(t);
    sim.heal();
    sim.runFor(1000);
    expect(sim.leader()).toBe(leader);
    expect(term(sim, leader)).toBe(t);
  });

  it("without PreVote the same rejoin disrupts the leader (the contrast PreVote prevents)", () => {
    const sim = cluster(3, { raftConfig: { preVote: false, checkQuorum: false } });
    const leader = waitLeader(sim);
    sim.runFor(200);
    const t = term(sim, leader);
    const lonely = ids(3).find((i) => i !== leader) as number;
    sim.isolate(lonely);
    sim.runFor(3000);
    expect(term(sim, lonely)).toBeGreaterThan(t);
    sim.heal();
    sim.runFor(1000);
    expect(term(sim, sim.leader() as number)).toBeGreaterThan(t);
  });

  it("CheckQuorum makes a leader that lost its quorum step down", () => {
    const sim = cluster(5);
    const leader = waitLeader(sim);
    const others = ids(5).filter((i) => i !== leader);
    sim.partition([[leader, others[0] as number], others.slice(1)]);
    // Two election timeouts (2 x 10 ticks x 10ms) are enough to notice.
    const stepped = sim.runUntil(() => sim.nodes.get(leader)?.rn.status().role !== "leader", 500);
    expect(stepped).toBe(true);
    waitLeader(sim, 3000, others.slice(1));
  });

  it("transfers leadership to a slow follower once it has caught up", () => {
    // Batched, pipelined catch-up: the transfer must finish within one election timeout.
    const sim = cluster(3, { raftConfig: { maxSizePerMsg: 64 * 1024, maxInflightMsgs: 64 } });
    const leader = waitLeader(sim);
    const slow = ids(3).find((i) => i !== leader) as number;
    sim.isolate(slow);
    let last = 0;
    for (let i = 0; i < 30; i++) last = putAtLeader(sim, `k${i % 3}`, `v${i}`);
    expect(
      waitApplied(
        sim,
        last,
        ids(3).filter((i) => i !== slow),
      ),
    ).toBe(true);
    sim.heal();
    sim.nodes.get(leader)?.act((rn) => rn.transferLeadership(slow));
    const moved = sim.runUntil(() => sim.leader() === slow, 2000);
    expect(moved, `leadership did not move to ${slow}`).toBe(true);
    expect(waitApplied(sim, last, [slow])).toBe(true);
    // Proposals keep working under the new leader.
    const index = putAtLeader(sim, "k", "after");
    expect(waitApplied(sim, index, ids(3))).toBe(true);
  });
});
