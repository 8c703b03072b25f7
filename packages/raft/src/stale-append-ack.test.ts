import { describe, expect, it } from "vitest";
import type { RaftConfig } from "./config.js";
import { bootstrapMembers } from "./test-members.js";

// An append acknowledgement is a statement about the follower's log in the term it was sent: a
// leader that counted one from an earlier term could commit an entry no follower holds. The
// production sweep catches the mutation too (its leader-progress check, test/sim/safety.ts, sees
// the counted ack before any wrong commit; test/broken-variant.test.ts); this test shows the
// wrong commit itself, which the random sweep reaches rarely (a re-elected leader whose log was
// cut below a delayed ack's index).

/** Whether leader 1, cut off from both followers, commits its own entry on a stale ack. */
function commitsOnStaleAck(extra: Partial<RaftConfig>): boolean {
  const ids = [1, 2, 3];
  const nodes = bootstrapMembers(ids, extra);
  let connected = true;
  const settle = () => {
    for (let round = 0; round < 100; round++) {
      let moved = false;
      for (const [id, { rn, disk }] of nodes) {
        if (!rn.hasReady()) continue;
        moved = true;
        const rd = rn.ready();
        disk.append(rd.entries);
        if (rd.hardState) disk.setHardState(rd.hardState);
        rn.advance(rd);
        for (const m of rd.messages) if (connected || (m.to !== 1 && id !== 1)) nodes.get(m.to)!.rn.step(m);
      }
      if (!moved) return;
    }
  };
  settle();
  const leader = nodes.get(1)!.rn;
  leader.campaign();
  settle();
  leader.campaign(); // a second election: the leader's term is now above its first term's acks
  settle();
  const term = leader.status().term;
  expect(leader.status().role).toBe("leader");
  connected = false;
  const r = leader.propose(new TextEncoder().encode("x"));
  settle();
  const index = r.ok && !r.forwarded ? r.index : -1;
  const before = leader.status().commit;
  expect(before).toBeLessThan(index);
  // A delayed ack of an earlier term claims follower 2 holds everything up to `index`.
  leader.step({
    type: "appResp",
    from: 2,
    to: 1,
    term: term - 1,
    index,
    reject: false,
    rejectHint: 0,
    logTerm: 0,
  });
  settle();
  return leader.status().commit >= index;
}

describe("append acknowledgements from an earlier term", () => {
  it("are ignored: a leader cut off from its followers commits nothing on a stale ack", () => {
    expect(commitsOnStaleAck({})).toBe(false);
  });

  it("the deliberately broken core that accepts them is caught by the test above", () => {
    expect(commitsOnStaleAck({ testingUnsafe: "acceptStaleAppendResp" })).toBe(true);
  });
});
