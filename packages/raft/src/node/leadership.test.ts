import { seededRandom } from "@shoal/base";
import { afterEach, describe, expect, it } from "vitest";
import { encodeConfChange } from "../conf-change.js";
import { LocalNetwork } from "../transport/local-network.js";
import { Role } from "../types.js";
import { MemoryDurableStorage } from "./durable-storage.js";
import { LeadershipSignal, type LeadershipState } from "./leadership.js";
import { RaftNode } from "./raft-node.js";
import { waitFor } from "./test-cluster.js";

async function take(it: AsyncIterator<LeadershipState>, n: number): Promise<LeadershipState[]> {
  const out: LeadershipState[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe("LeadershipSignal", () => {
  it("publishes each change once, in order, starting with the state at subscription", async () => {
    const sig = new LeadershipSignal(1);
    sig.observe(1, 0, Role.Follower); // no leader yet, term bump only: not a change
    const it = sig.subscribe();
    sig.observe(2, 3, Role.Follower); // leader 3 known
    sig.observe(2, 3, Role.Follower); // the same again: nothing
    sig.observe(3, 3, Role.Follower); // leader 3 re-elected in term 3: a new leadership
    sig.observe(4, 0, Role.PreCandidate);
    sig.observe(4, 0, Role.Candidate);
    sig.observe(4, 1, Role.Leader);
    const got = await take(it, 6);
    expect(got.map((s) => [s.term, s.leaderId, s.role, s.isLeader])).toEqual([
      [0, 0, "follower", false],
      [2, 3, "follower", false],
      [3, 3, "follower", false],
      [4, 0, "preCandidate", false],
      [4, 0, "candidate", false],
      [4, 1, "leader", true],
    ]);
    // A late subscriber starts from the leadership this node already holds.
    expect((await sig.subscribe().next()).value).toMatchObject({ term: 4, leaderId: 1, isLeader: true });
  });

  it("reports this node's removal as its last change and ends subscriptions on stop or abort", async () => {
    const sig = new LeadershipSignal(2);
    const ac = new AbortController();
    const aborted = sig.subscribe(ac.signal);
    const it = sig.subscribe();
    sig.observe(5, 2, Role.Leader);
    const other = encodeConfChange({ type: "removeNode", nodeId: 3 });
    sig.observeApplied({ term: 5, index: 9, type: "confChange", data: other }, 5);
    const self = encodeConfChange({ type: "removeNode", nodeId: 2 });
    sig.observeApplied({ term: 5, index: 10, type: "confChange", data: self }, 5);
    sig.observe(6, 1, Role.Follower); // after removal nothing follows
    ac.abort();
    expect(await take(aborted, 9)).toEqual([]);
    sig.end();
    expect(await take(it, 9)).toEqual([
      { term: 0, leaderId: 0, role: "follower", isLeader: false, removed: false },
      { term: 5, leaderId: 2, role: "leader", isLeader: true, removed: false },
      { term: 5, leaderId: 0, role: "follower", isLeader: false, removed: true },
    ]);
    expect(await sig.subscribe().next()).toEqual({ value: undefined, done: true });
  });
});

interface Member {
  node: RaftNode;
  seen: LeadershipState[];
  running: Promise<void>;
  watching: Promise<void>;
}

/** Three RaftNodes on memory storage over a LocalNetwork, each watched from before run(). */
class Cluster {
  readonly net = new LocalNetwork();
  readonly members = new Map<number, Member>();

  constructor(readonly ids: number[]) {
    for (const id of ids) {
      const node = new RaftNode({
        id,
        storage: MemoryDurableStorage.bootstrap(ids),
        transport: this.net.transport(id),
        apply: () => {},
        random: seededRandom(id * 7919),
        tickMs: 10,
        electionTicks: 10,
      });
      const seen: LeadershipState[] = [];
      const watching = (async () => {
        for await (const s of node.leadershipChanges()) seen.push(s);
      })();
      const running = node.run();
      running.catch(() => {});
      this.members.set(id, { node, seen, running, watching });
    }
  }

  node(id: number): RaftNode {
    return this.members.get(id)!.node;
  }

  seen(id: number): LeadershipState[] {
    return this.members.get(id)!.seen;
  }

  /** The one node that leads, once every node in `among` agrees on it. */
  async agreedLeader(among = this.ids, timeoutMs = 5000): Promise<RaftNode> {
    return waitFor(
      () => {
        const leaders = among.map((id) => this.node(id)).filter((n) => n.isLeader());
        const leader = leaders[0];
        if (leaders.length !== 1 || leader === undefined) return undefined;
        const last = (id: number) => this.seen(id).at(-1);
        return among.every((id) => last(id)?.leaderId === leader.id && last(id)?.term === leader.term)
          ? leader
          : undefined;
      },
      timeoutMs,
      `one leader seen by ${among.join(",")}`,
    );
  }

  async stop(): Promise<void> {
    for (const m of this.members.values()) await m.node.stop();
    for (const m of this.members.values()) await m.watching;
  }
}

/** In order (terms never go back), once per change, and ending at what the node reports. */
function expectWellFormed(c: Cluster): void {
  for (const [id, m] of c.members) {
    const seen = m.seen;
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1]!, seen[i]!];
      expect(b.term, `node ${id} change ${i}`).toBeGreaterThanOrEqual(a.term);
      const same = a.role === b.role && a.leaderId === b.leaderId && (a.term === b.term || b.leaderId === 0);
      expect(same, `node ${id} repeated ${JSON.stringify(b)}`).toBe(false);
      expect(b.isLeader).toBe(b.role === Role.Leader);
    }
  }
}

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("RaftNode leadership signal", () => {
  it("announces the first election on every node, and the winner learns it leads", async () => {
    const c = new Cluster([1, 2, 3]);
    cluster = c;
    const leader = await c.agreedLeader();
    expect(c.seen(leader.id).filter((s) => s.isLeader)).toEqual([
      { term: leader.term, leaderId: leader.id, role: "leader", isLeader: true, removed: false },
    ]);
    for (const id of c.ids) {
      expect(c.seen(id)[0]).toEqual({
        term: 0,
        leaderId: 0,
        role: "follower",
        isLeader: false,
        removed: false,
      });
      expect(c.seen(id).at(-1)).toMatchObject({ leaderId: leader.id, term: leader.term });
    }
    expectWellFormed(c);
  });

  it("follows a leadership transfer: the old leader steps down, the transferee leads in a new term", async () => {
    const c = new Cluster([1, 2, 3]);
    cluster = c;
    const first = await c.agreedLeader();
    const oldTerm = first.term;
    const to = c.ids.find((id) => id !== first.id)!;
    first.transferLeadership(to);
    await waitFor(
      () => (c.node(to).isLeader() && c.ids.every((id) => c.seen(id).at(-1)?.leaderId === to)) || undefined,
      5000,
      `every node to see node ${to} lead`,
    );
    const old = c.seen(first.id);
    expect(old.at(-1)).toMatchObject({ leaderId: to, role: "follower", isLeader: false });
    expect(old.at(-1)!.term).toBeGreaterThan(oldTerm);
    expect(old.filter((s) => s.isLeader)).toEqual([expect.objectContaining({ term: oldTerm })]);
    const mine = c.seen(to).filter((s) => s.isLeader);
    expect(mine).toEqual([expect.objectContaining({ term: old.at(-1)!.term, leaderId: to })]);
    expectWellFormed(c);
  });

  it("announces the step-down of a leader cut off from its quorum (CheckQuorum), and its return", async () => {
    const c = new Cluster([1, 2, 3]);
    cluster = c;
    const first = await c.agreedLeader();
    const oldTerm = first.term;
    c.net.isolate(first.id);
    await waitFor(() => !first.isLeader() || undefined, 5000, `node ${first.id} to step down`);
    await waitFor(
      () => c.seen(first.id).at(-1)?.isLeader === false || undefined,
      1000,
      "the step-down signal",
    );
    expect(c.seen(first.id).at(-1)).toMatchObject({ term: oldTerm, leaderId: 0, role: "follower" });
    const others = c.ids.filter((id) => id !== first.id);
    const second = await c.agreedLeader(others);
    c.net.isolate(first.id, false);
    await c.agreedLeader();
    expect(c.seen(first.id).at(-1)).toMatchObject({ leaderId: second.id, isLeader: false });
    expectWellFormed(c);
  });

  it("reports the removal of a follower and of the leader as each one's last change", async () => {
    const c = new Cluster([1, 2, 3]);
    cluster = c;
    const leader = await c.agreedLeader();
    const term = leader.term;
    const follower = c.ids.find((id) => id !== leader.id)!;
    await leader.proposeConfChange({ type: "removeNode", nodeId: follower });
    await waitFor(
      () => c.seen(follower).at(-1)?.removed || undefined,
      5000,
      `node ${follower} to see its removal`,
    );
    expect(c.seen(follower).at(-1)).toMatchObject({ leaderId: 0, isLeader: false, removed: true });

    await leader.proposeConfChange({ type: "removeNode", nodeId: leader.id });
    await waitFor(
      () => c.seen(leader.id).at(-1)?.removed || undefined,
      5000,
      "the leader to see its removal",
    );
    expect(c.seen(leader.id).at(-1)).toMatchObject({ term, isLeader: false, removed: true });
    expect(c.seen(leader.id).filter((s) => s.removed)).toHaveLength(1);
    // The one member left elects itself; the removed ones hear nothing more.
    const last = c.ids.find((id) => id !== leader.id && id !== follower)!;
    await waitFor(() => c.seen(last).at(-1)?.isLeader || undefined, 5000, `node ${last} to lead alone`);
    expectWellFormed(c);
  });
});
