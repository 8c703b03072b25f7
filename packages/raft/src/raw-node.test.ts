import { seededRandom, silentLogger } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES, resolveConfig } from "./config.js";
import { RawNode } from "./raw-node.js";
import { MemoryStorage } from "./storage.js";
import type { Message, Ready } from "./types.js";

// Sentences of the Raft paper as tests, on a tiny synchronous network that delivers everything.
class Net {
  readonly nodes = new Map<number, { rn: RawNode; disk: MemoryStorage }>();
  readonly dropped = new Set<number>();
  readonly seen: Message[] = [];

  constructor(
    n: number,
    opts: { preVote?: boolean; checkQuorum?: boolean; maxUncommittedBytes?: number } = {},
  ) {
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    for (const id of ids) {
      const disk = MemoryStorage.bootstrap(ids);
      const rn = new RawNode({
        id,
        storage: disk,
        electionTicks: 10,
        heartbeatTicks: 1,
        random: seededRandom(id),
        logger: silentLogger(),
        ...opts,
      });
      this.nodes.set(id, { rn, disk });
    }
    this.settle();
  }

  node(id: number): RawNode {
    return (this.nodes.get(id) as { rn: RawNode }).rn;
  }

  /** Handles Readys and delivers messages until nothing moves. */
  settle(): void {
    for (let rounds = 0; rounds < 1000; rounds++) {
      let moved = false;
      for (const [id, { rn, disk }] of this.nodes) {
        if (!rn.hasReady()) continue;
        moved = true;
        const rd: Ready = rn.ready();
        if (rd.snapshot) disk.applySnapshot(rd.snapshot);
        disk.append(rd.entries);
        if (rd.hardState) disk.setHardState(rd.hardState);
        rn.advance(rd);
        for (const m of rd.messages) {
          this.seen.push(m);
          if (!this.dropped.has(m.to) && !this.dropped.has(id)) this.node(m.to).step(m);
        }
      }
      if (!moved) return;
    }
    throw new Error("network did not settle");
  }
}

describe("RawNode (paper sentences)", () => {
  it("a follower that times out campaigns and, with a majority of votes, becomes leader (§5.2)", () => {
    const net = new Net(3);
    net.node(1).campaign();
    net.settle();
    expect(net.node(1).status().role).toBe("leader");
    expect(net.node(2).status().leader).toBe(1);
    expect(net.node(2).status().term).toBe(net.node(1).status().term);
  });

  it("PreVote does not bump the term of a candidate that cannot win (§9.6)", () => {
    const net = new Net(3);
    net.node(1).campaign();
    net.settle();
    const term = net.node(2).status().term;
    net.dropped.add(1);
    net.dropped.add(3);
    for (let i = 0; i < 50; i++) net.node(2).tick();
    net.settle();
    expect(net.node(2).status().term).toBe(term);
  });

  it("a voter rejects a candidate whose log is less up to date (§5.4.1)", () => {
    const net = new Net(3);
    net.node(1).campaign();
    net.settle();
    net.dropped.add(3);
    net.node(1).propose(new Uint8Array([1]));
    net.settle();
    net.dropped.clear();
    // Node 3 missed the entry: it cannot win even though its timer fires.
    net.node(3).campaign();
    net.settle();
    expect(net.node(3).status().role).not.toBe("leader");
    expect(net.node(1).status().role).toBe("leader");
  });

  it("the leader commits an entry once a majority stored it, and followers learn the commit (§5.3)", () => {
    const net = new Net(3);
    net.node(1).campaign();
    net.settle();
    const r = net.node(1).propose(new TextEncoder().encode("x"));
    expect(r).toMatchObject({ ok: true, forwarded: false });
    net.settle();
    const index = r.ok && !r.forwarded ? r.index : -1;
    for (const id of [1, 2, 3]) expect(net.node(id).status().commit).toBeGreaterThanOrEqual(index);
  });

  it("a follower forwards proposals to the leader, or rejects with a hint when forwarding is off", () => {
    const net = new Net(3);
    net.node(1).campaign();
    net.settle();
    expect(net.node(2).propose(new Uint8Array([7]))).toEqual({ ok: true, forwarded: true, leader: 1 });
    const lone = new RawNode({
      id: 9,
      storage: MemoryStorage.bootstrap([9, 10]),
      electionTicks: 10,
      heartbeatTicks: 1,
      random: seededRandom(9),
      logger: silentLogger(),
    });
    expect(lone.propose(new Uint8Array([1]))).toMatchObject({ ok: false, reason: "noLeader" });
  });

  it("ReadIndex returns the commit index after a heartbeat round (§6.4)", () => {
    const net = new Net(3);
    net.node(1).campaign();
    net.settle();
    net.node(2).readIndex(new TextEncoder().encode("r1"));
    const rn = net.node(2);
    // Drive by hand to catch the read state in the follower's Ready.
    const states: number[] = [];
    for (let i = 0; i < 100; i++) {
      for (const [id, { rn: n, disk }] of net.nodes) {
        if (!n.hasReady()) continue;
        const rd = n.ready();
        disk.append(rd.entries);
        if (rd.hardState) disk.setHardState(rd.hardState);
        if (id === 2) for (const s of rd.readStates) states.push(s.index);
        n.advance(rd);
        for (const m of rd.messages) net.node(m.to).step(m);
      }
    }
    expect(states).toEqual([rn.status().commit]);
  });

  it("caps the uncommitted tail while the quorum is unreachable, and accepts again once it commits", () => {
    const net = new Net(3, { maxUncommittedBytes: 100 });
    net.node(1).campaign();
    net.settle();
    net.dropped.add(2);
    net.dropped.add(3);
    const results = [];
    for (let i = 0; i < 20; i++) results.push(net.node(1).propose(new Uint8Array(10)));
    net.settle();
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    expect(results[19]).toMatchObject({ ok: false, reason: "uncommittedCap", leader: 1 });
    net.dropped.clear();
    for (let i = 0; i < 3; i++) {
      net.node(1).tick();
      net.settle();
    }
    expect(net.node(1).propose(new Uint8Array(10)).ok).toBe(true);
  });

  it("never emits a message over 4 MiB, whatever the configured sizes", () => {
    const cfg = resolveConfig({
      id: 1,
      storage: new MemoryStorage(),
      electionTicks: 10,
      heartbeatTicks: 1,
      random: seededRandom(1),
      logger: silentLogger(),
      maxSizePerMsg: 64 * 1024 * 1024,
      snapshotChunkBytes: 64 * 1024 * 1024,
    });
    expect(cfg.maxSizePerMsg).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(cfg.snapshotChunkBytes).toBeLessThan(MAX_MESSAGE_BYTES);
  });
});
