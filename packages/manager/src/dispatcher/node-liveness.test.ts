import { seededRandom } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { NodeLiveness } from "./node-liveness.js";

const liveness = (jitter = 0) =>
  new NodeLiveness({
    periodMs: 1_000,
    jitter,
    missedHeartbeats: 3,
    graceAfterLeaderChangePeriods: 6,
    random: seededRandom(7),
  });

const expired = (l: NodeLiveness, asOfMs: number) => l.takeExpired(asOfMs).nodeIds.sort();

describe("NodeLiveness", () => {
  it("expires a node three periods after its last heartbeat", () => {
    const l = liveness();
    expect(l.beat("a", 0)).toBe(1_000);
    expect(expired(l, 2_999)).toEqual([]);
    l.beat("a", 2_000);
    expect(expired(l, 4_999)).toEqual([]);
    expect(l.takeExpired(5_000)).toEqual({ nodeIds: ["a"], maxOverdueMs: 0 });
    expect(l.isTracked("a")).toBe(false);
  });

  it("jitters periods within ± the fraction", () => {
    const l = liveness(0.1);
    const periods = Array.from({ length: 200 }, (_, i) => l.beat(`n${i}`, 0));
    expect(Math.min(...periods)).toBeGreaterThanOrEqual(900);
    expect(Math.max(...periods)).toBeLessThanOrEqual(1_100);
    expect(new Set(periods).size).toBeGreaterThan(50);
  });

  it("gives adopted nodes the leader-change grace, kept by an early heartbeat", () => {
    const l = liveness();
    l.adopt(["a", "b"], 0);
    l.beat("a", 100); // a heartbeat does not shorten the grace
    expect(expired(l, 5_999)).toEqual([]);
    expect(expired(l, 6_000)).toEqual(["a", "b"]);
  });

  it("forgets a node that left", () => {
    const l = liveness();
    l.beat("a", 0);
    l.forget("a");
    l.answersSent(100);
    expect(expired(l, 10_000)).toEqual([]);
  });

  it("runs a deadline from when the answer went out: a stall before it delays the agent too", () => {
    const l = liveness();
    l.beat("a", 0); // read at 0; the event loop is then held until 2,500
    l.answersSent(2_500); // the agent's next heartbeat comes a period after this
    expect(expired(l, 5_499)).toEqual([]);
    expect(expired(l, 5_500)).toEqual(["a"]);
  });

  it("does not shorten a deadline by an answer sent before it", () => {
    const l = liveness();
    l.adopt(["a"], 0); // grace until 6,000
    l.beat("a", 100);
    l.answersSent(100);
    expect(expired(l, 5_999)).toEqual([]);
  });

  it("credits a stall only to adopted nodes still without a session", () => {
    const l = liveness();
    l.adopt(["waiting", "connected"], 0); // grace until 6,000
    l.beat("connected", 7_000);
    l.answersSent(7_000); // 10,000
    l.beat("fresh", 7_000);
    l.answersSent(7_000); // 10,000, never adopted
    l.stalled(2_000); // the grace moves to 8,000; the others stay at 10,000
    expect(expired(l, 7_999)).toEqual([]);
    expect(expired(l, 8_000)).toEqual(["waiting"]);
    expect(expired(l, 9_999)).toEqual([]);
    expect(expired(l, 10_000)).toEqual(["connected", "fresh"]);
  });

  it("expires a node again at the next look after marking it DOWN failed", () => {
    const l = liveness();
    l.beat("a", 0);
    expect(expired(l, 3_000)).toEqual(["a"]);
    l.expireAgain(["a"]);
    l.stalled(5_000);
    expect(l.takeExpired(3_001)).toEqual({ nodeIds: ["a"], maxOverdueMs: 0 });
  });

  // The dispatcher's sweep after a stall of the leader: it wakes at `wakeMs`, lets one I/O turn
  // read what the sockets hold (the heartbeats `readInTurn`, counted at the times given, after
  // the wake), then takes the nodes expired as of the wake. Before it, a and b beat at 0 and b
  // again at 1,000, answered at once (deadlines 3,000 and 4,000).
  const sweeps: {
    what: string;
    wakeMs: number;
    readInTurn: { nodeId: string; atMs: number }[];
    down: string[];
    overdueMs: number;
  }[] = [
    { what: "a sweep on time", wakeMs: 2_250, readInTurn: [], down: [], overdueMs: 0 },
    {
      what: "a stall: heartbeats waited in the sockets, read in the turn",
      wakeMs: 7_000,
      readInTurn: [
        { nodeId: "a", atMs: 7_050 },
        { nodeId: "b", atMs: 7_050 },
      ],
      down: [],
      overdueMs: 0,
    },
    {
      what: "a stall: only b's heartbeat waited, a was silent",
      wakeMs: 7_000,
      readInTurn: [{ nodeId: "b", atMs: 7_300 }],
      down: ["a"],
      overdueMs: 4_000,
    },
    {
      what: "a stall, both silent: DOWN at the first sweep, not postponed by the stall",
      wakeMs: 4_500,
      readInTurn: [],
      down: ["a", "b"],
      overdueMs: 1_500,
    },
    {
      what: "a heartbeat read in the turn keeps a node past its deadline at the wake",
      wakeMs: 3_100,
      readInTurn: [{ nodeId: "a", atMs: 3_400 }],
      down: [],
      overdueMs: 0,
    },
  ];
  for (const s of sweeps) {
    it(`sweep: ${s.what}`, () => {
      const l = liveness();
      l.beat("a", 0);
      l.beat("b", 0);
      l.answersSent(0);
      l.beat("b", 1_000);
      l.answersSent(1_000);
      l.stalled(s.wakeMs - 2_250); // the sweep's lateness: nothing here is waiting for a session
      for (const { nodeId, atMs } of s.readInTurn) l.beat(nodeId, atMs);
      const taken = l.takeExpired(s.wakeMs);
      expect({ down: taken.nodeIds.sort(), overdueMs: taken.maxOverdueMs }).toEqual({
        down: s.down,
        overdueMs: s.overdueMs,
      });
    });
  }

  it("does not let late sweeps one after another postpone a dead node", () => {
    // The leader's event loop is held ~1 s before each wake (sweeps every 250 ms): the dead
    // node is DOWN at the first wake past its deadline, 3,000.
    const l = liveness();
    l.beat("dead", 0);
    l.answersSent(0);
    const wakes = [1_250, 2_500, 3_750, 5_000];
    const downAt = wakes.find((w) => {
      l.stalled(1_000);
      return l.takeExpired(w).nodeIds.includes("dead");
    });
    expect(downAt).toBe(3_750);
  });
});
