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

describe("NodeLiveness", () => {
  it("expires a node three periods after its last heartbeat", () => {
    const l = liveness();
    expect(l.beat("a", 0)).toBe(1_000);
    expect(l.takeExpired(2_999)).toEqual([]);
    l.beat("a", 2_000);
    expect(l.takeExpired(4_999)).toEqual([]);
    expect(l.takeExpired(5_000)).toEqual(["a"]);
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
    expect(l.takeExpired(5_999)).toEqual([]);
    expect(l.takeExpired(6_000).sort()).toEqual(["a", "b"]);
  });

  it("moves every deadline by a stall of the leader's own, and a dead node still expires", () => {
    const l = liveness();
    l.beat("a", 0); // deadline 3,000
    l.extend(2_500); // the leader heard nothing for 2.5 s
    expect(l.takeExpired(5_499)).toEqual([]);
    expect(l.takeExpired(5_500)).toEqual(["a"]);
  });

  it("credits no stall to a node whose connection closed, until it opens a session again", () => {
    const l = liveness();
    l.beat("gone", 0); // deadline 3,000
    l.beat("back", 0);
    l.disconnected("gone");
    l.disconnected("back");
    l.extend(2_500);
    expect(l.takeExpired(2_999)).toEqual([]);
    l.beat("back", 2_000); // reconnected: deadline 5,000, credited again
    l.extend(1_000);
    expect(l.takeExpired(3_000)).toEqual(["gone"]);
    expect(l.takeExpired(5_999)).toEqual([]);
    expect(l.takeExpired(6_000)).toEqual(["back"]);
    l.disconnected("never-tracked");
    expect(l.isTracked("never-tracked")).toBe(false);
  });

  it("a live node keeps the slack of earlier stalls; a disconnected one counts from its last heartbeat", () => {
    const l = liveness();
    for (const id of ["live", "gone"]) l.beat(id, 0); // deadlines 3,000
    l.extend(2_000);
    l.extend(2_000); // 7,000: every sweep late under a busy leader
    for (const id of ["live", "gone"]) l.beat(id, 1_000); // read: 4,000 counted from now
    l.disconnected("gone");
    l.extend(500); // live: 7,500 (and 4,500 counted from its heartbeat); gone: no credit
    expect(l.takeExpired(3_999)).toEqual([]);
    expect(l.takeExpired(4_000)).toEqual(["gone"]);
    expect(l.takeExpired(7_499)).toEqual([]);
    expect(l.takeExpired(7_500)).toEqual(["live"]);
  });

  it("forgets a node that left", () => {
    const l = liveness();
    l.beat("a", 0);
    l.forget("a");
    expect(l.takeExpired(10_000)).toEqual([]);
  });
});
