import { describe, expect, it } from "vitest";
import { cluster, ids, put, putAtLeader, value, waitApplied, waitLeader } from "./helpers.js";

describe("replication", () => {
  it("agrees on proposals (basic agreement)", () => {
    const sim = cluster(3);
    for (let i = 0; i < 3; i++) {
      const index = putAtLeader(sim, "k", `v${i}`);
      expect(waitApplied(sim, index, ids(3))).toBe(true);
      for (const id of ids(3)) expect(value(sim, id, "k")).toBe(`v${i}`);
    }
  });

  it("agrees with a failed follower, which catches up after restart", () => {
    const sim = cluster(3);
    const leader = waitLeader(sim);
    const down = ids(3).find((i) => i !== leader) as number;
    sim.crash(down);
    const up = ids(3).filter((i) => i !== down);
    let index = 0;
    for (let i = 0; i < 5; i++) index = putAtLeader(sim, "k", `v${i}`);
    expect(waitApplied(sim, index, up)).toBe(true);
    sim.restart(down);
    expect(waitApplied(sim, index, ids(3))).toBe(true);
    expect(value(sim, down, "k")).toBe("v4");
  });

  it("does not commit without a quorum, and commits once it returns", () => {
    const sim = cluster(5);
    const leader = waitLeader(sim);
    const followers = ids(5).filter((i) => i !== leader);
    for (const f of followers.slice(0, 3)) sim.crash(f);
    const res = put(sim, leader, "k", "lonely");
    expect(res.ok).toBe(true);
    const index = res.ok && !res.forwarded ? res.index : -1;
    sim.runFor(150); // less than the CheckQuorum timeout: still leader, nothing commits
    expect(sim.nodes.get(leader)?.rn.status().commit).toBeLessThan(index);
    expect(value(sim, leader, "k")).toBe("");
    for (const f of followers.slice(0, 3)) sim.restart(f);
    sim.runFor(2000);
    // The entry either committed under the old leader or was superseded; the cluster agrees.
    const final = putAtLeader(sim, "k2", "x");
    expect(waitApplied(sim, final, ids(5))).toBe(true);
    const seen = new Set(ids(5).map((id) => value(sim, id, "k")));
    expect(seen.size).toBe(1);
  });

  it("commits many concurrent proposals in one order everywhere", () => {
    const sim = cluster(5);
    const leader = waitLeader(sim);
    let last = 0;
    for (let i = 0; i < 50; i++) {
      const r = put(sim, leader, `key${i}`, `v${i}`);
      if (r.ok && !r.forwarded) last = r.index;
    }
    expect(waitApplied(sim, last, ids(5))).toBe(true);
    for (const id of ids(5)) {
      for (let i = 0; i < 50; i++) expect(value(sim, id, `key${i}`)).toBe(`v${i}`);
    }
  });

  it("replaces a rejoining partitioned leader's divergent entries", () => {
    const sim = cluster(3);
    const old = waitLeader(sim);
    sim.isolate(old);
    for (let i = 0; i < 3; i++) put(sim, old, "k", `lost${i}`);
    const others = ids(3).filter((i) => i !== old);
    waitLeader(sim, 3000, others);
    let index = 0;
    for (let i = 0; i < 2; i++) index = putAtLeader(sim, "k", `kept${i}`);
    expect(waitApplied(sim, index, others)).toBe(true);
    sim.heal();
    expect(waitApplied(sim, index, ids(3))).toBe(true);
    for (const id of ids(3)) expect(value(sim, id, "k")).toBe("kept1");
  });

  it("backs up over 50 conflicting entries quickly (fast backtracking)", () => {
    const sim = cluster(5, { raftConfig: { maxSizePerMsg: 64 } });
    const l1 = waitLeader(sim);
    const f1 = ids(5).find((i) => i !== l1) as number;
    const rest = ids(5).filter((i) => i !== l1 && i !== f1);
    // 1. Old leader and one follower get 50 entries that cannot commit.
    sim.partition([[l1, f1], rest]);
    for (let i = 0; i < 50; i++) put(sim, l1, "k", `dead${i}`);
    // 2. The other three commit 50 of their own.
    const l2 = waitLeader(sim, 3000, rest);
    let index = 0;
    for (let i = 0; i < 50; i++) index = putAtLeader(sim, "k", `live${i}`);
    expect(waitApplied(sim, index, rest)).toBe(true);
    // 3. The new leader and one follower get another 50 uncommittable entries.
    const f2 = rest.find((i) => i !== l2) as number;
    const third = rest.find((i) => i !== l2 && i !== f2) as number;
    sim.partition([
      [l2, f2],
      [l1, f1, third],
    ]);
    for (let i = 0; i < 50; i++) put(sim, l2, "k", `dead2-${i}`);
    // 4. The first pair plus the third node commit 50 more, backing up over the conflicts.
    waitLeader(sim, 3000, [l1, f1, third]);
    for (let i = 0; i < 50; i++) index = putAtLeader(sim, "k", `live2-${i}`);
    expect(waitApplied(sim, index, [l1, f1, third])).toBe(true);
    // 5. Everyone back: one more commit everywhere.
    sim.heal();
    const rejectionsBefore = sim.appendRejections;
    const start = sim.now();
    index = putAtLeader(sim, "k", "end");
    expect(waitApplied(sim, index, ids(5), 2000)).toBe(true);
    expect(sim.now() - start).toBeLessThan(1000);
    // Term hints skip whole terms: a handful of rejections, not one per conflicting entry.
    expect(sim.appendRejections - rejectionsBefore).toBeLessThan(20);
    for (const id of ids(5)) expect(value(sim, id, "k")).toBe("end");
  });

  it("keeps committed entries across full-cluster restarts", () => {
    const sim = cluster(3);
    let index = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) index = putAtLeader(sim, `k${i}`, `r${round}`);
      expect(waitApplied(sim, index, ids(3))).toBe(true);
      for (const id of ids(3)) sim.crash(id);
      sim.runFor(50);
      for (const id of ids(3)) sim.restart(id);
      waitLeader(sim);
      expect(waitApplied(sim, index, ids(3))).toBe(true);
      for (const id of ids(3)) expect(value(sim, id, "k4")).toBe(`r${round}`);
    }
  });
});
