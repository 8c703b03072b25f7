import { describe, expect, it } from "vitest";
import { bootstrapMembers, type TestMember } from "./test-members.js";

// A leadership transfer must not extend an isolated leader's lease (issue 11, defect 4).

function cluster(): { nodes: Map<number, TestMember>; cut: Set<number> } {
  return { nodes: bootstrapMembers([1, 2, 3]), cut: new Set() };
}

function settle(c: ReturnType<typeof cluster>): void {
  for (let round = 0; round < 1000; round++) {
    let moved = false;
    for (const [id, { rn, disk }] of c.nodes) {
      if (!rn.hasReady()) continue;
      moved = true;
      const rd = rn.ready();
      if (rd.snapshot) disk.applySnapshot(rd.snapshot);
      disk.append(rd.entries);
      if (rd.hardState) disk.setHardState(rd.hardState);
      rn.advance(rd);
      for (const m of rd.messages) if (!c.cut.has(m.to) && !c.cut.has(id)) c.nodes.get(m.to)!.rn.step(m);
    }
    if (!moved) return;
  }
  throw new Error("network did not settle");
}

describe("leadership transfer and the leader lease", () => {
  it("an isolated leader steps down even while transfers keep being requested", () => {
    const c = cluster();
    const leader = c.nodes.get(1)!.rn;
    settle(c);
    leader.campaign();
    settle(c);
    expect(leader.status().role).toBe("leader");
    c.cut.add(1);
    // Alternating targets restart the transfer each time; before the fix each restart also reset
    // the election clock that CheckQuorum counts, so the leader never noticed it was alone.
    let ticks = 0;
    for (; ticks < 60 && leader.status().role === "leader"; ticks++) {
      if (ticks % 3 === 0) leader.transferLeadership(ticks % 2 === 0 ? 2 : 3);
      leader.tick();
      settle(c);
    }
    expect(leader.status().role).toBe("follower");
    expect(ticks).toBeLessThanOrEqual(2 * 10);
  });

  it("still abandons a transfer that does not finish within an election timeout", () => {
    const c = cluster();
    const leader = c.nodes.get(1)!.rn;
    settle(c);
    leader.campaign();
    settle(c);
    c.cut.add(2); // the transferee never answers; 3 keeps the quorum
    leader.transferLeadership(2);
    settle(c);
    expect(leader.status().leadTransferee).toBe(2);
    for (let i = 0; i < 10; i++) {
      leader.tick();
      settle(c);
    }
    expect(leader.status().role).toBe("leader");
    expect(leader.status().leadTransferee).toBe(0);
    expect(leader.propose(new Uint8Array([1])).ok).toBe(true);
  });
});
