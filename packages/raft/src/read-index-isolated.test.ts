import { describe, expect, it } from "vitest";
import type { RawNode } from "./raw-node.js";
import type { MemoryStorage } from "./storage.js";
import { bootstrapMembers } from "./test-members.js";
import type { ReadState } from "./types.js";

// Issue 11, item 9: a leader cut off from its followers never answers a ReadIndex — not while it
// still believes it leads, not after it stepped down — because no quorum confirms it.

interface Member {
  rn: RawNode;
  disk: MemoryStorage;
  reads: ReadState[];
}

function cluster(): { members: Map<number, Member>; cut: Set<number> } {
  const ids = [1, 2, 3];
  const members = new Map<number, Member>();
  for (const [id, m] of bootstrapMembers(ids)) members.set(id, { ...m, reads: [] });
  return { members, cut: new Set() };
}

function settle(c: ReturnType<typeof cluster>): void {
  for (let round = 0; round < 1000; round++) {
    let moved = false;
    for (const [id, m] of c.members) {
      if (!m.rn.hasReady()) continue;
      moved = true;
      const rd = m.rn.ready();
      if (rd.snapshot) m.disk.applySnapshot(rd.snapshot);
      m.disk.append(rd.entries);
      if (rd.hardState) m.disk.setHardState(rd.hardState);
      m.reads.push(...rd.readStates);
      m.rn.advance(rd);
      for (const msg of rd.messages) {
        if (!c.cut.has(msg.to) && !c.cut.has(id)) c.members.get(msg.to)!.rn.step(msg);
      }
    }
    if (!moved) return;
  }
  throw new Error("network did not settle");
}

const ctx = (s: string) => new TextEncoder().encode(s);

describe("ReadIndex on an isolated leader", () => {
  it("is never answered, before or after the leader steps down", () => {
    const c = cluster();
    settle(c);
    const leader = c.members.get(1)!;
    leader.rn.campaign();
    settle(c);
    leader.rn.propose(ctx("x"));
    settle(c);
    // A connected leader answers.
    leader.rn.readIndex(ctx("before"));
    settle(c);
    expect(leader.reads.map((r) => new TextDecoder().decode(r.context))).toEqual(["before"]);

    c.cut.add(1);
    leader.rn.readIndex(ctx("isolated-1"));
    settle(c);
    for (let tick = 0; tick < 40; tick++) {
      if (tick === 3) leader.rn.readIndex(ctx("isolated-2"));
      leader.rn.tick();
      settle(c);
    }
    expect(leader.rn.status().role).not.toBe("leader");
    leader.rn.readIndex(ctx("after-step-down"));
    settle(c);
    expect(leader.reads.map((r) => new TextDecoder().decode(r.context))).toEqual(["before"]);
  });
});
