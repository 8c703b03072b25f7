import { describe, expect, it } from "vitest";
import { Progress } from "./progress.js";

function replicating(match: number, maxInflight = 2): Progress {
  const pr = new Progress(match + 1, maxInflight, false);
  pr.maybeUpdate(match);
  pr.becomeReplicate();
  return pr;
}

describe("Progress", () => {
  it("probe: one append outstanding, paused until it is answered", () => {
    const pr = new Progress(11, 4, false);
    expect(pr.state).toBe("probe");
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(3, 13, 30);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(11); // probing does not move next optimistically
    expect(pr.maybeUpdate(13)).toBe(true);
    expect(pr.isPaused()).toBe(false);
    expect([pr.match, pr.next]).toEqual([13, 14]);
  });

  it("replicate: next moves optimistically and inflights bound the pipeline", () => {
    const pr = replicating(10, 2);
    expect(pr.next).toBe(11);
    pr.sentEntries(5, 15, 50);
    pr.sentEntries(5, 20, 50);
    expect(pr.next).toBe(21);
    expect(pr.isPaused()).toBe(true);
    pr.sentEntries(0, 20, 0); // an empty append takes no slot
    expect(pr.inflights.size()).toBe(2);
    pr.inflights.freeLE(15);
    expect(pr.isPaused()).toBe(false);
  });

  it("maybeUpdate only moves match forward, and next never backwards", () => {
    const pr = replicating(10);
    expect(pr.maybeUpdate(8)).toBe(false);
    expect([pr.match, pr.next]).toEqual([10, 11]);
    expect(pr.maybeUpdate(12)).toBe(true);
    expect([pr.match, pr.next]).toEqual([12, 13]);
  });

  it("maybeDecrTo ignores stale rejections and backs next up to the hint in probe state", () => {
    const probe = new Progress(21, 4, false);
    expect(probe.maybeDecrTo(15, 5)).toBe(false); // not the probe we sent (next - 1 = 20)
    expect(probe.maybeDecrTo(20, 7)).toBe(true);
    expect(probe.next).toBe(8); // hint + 1
    expect(probe.maybeDecrTo(7, 100)).toBe(true);
    expect(probe.next).toBe(7); // never past the rejected index

    const rep = replicating(10);
    rep.sentEntries(5, 15, 5);
    expect(rep.maybeDecrTo(9, 3)).toBe(false); // at or below match: stale
    expect(rep.maybeDecrTo(14, 3)).toBe(true);
    expect(rep.next).toBe(11); // replicate falls back to match + 1
  });

  it("snapshot: paused until the snapshot lands, then probes right after it", () => {
    const pr = replicating(10);
    pr.becomeSnapshot(50);
    expect(pr.isPaused()).toBe(true);
    expect(pr.pendingSnapshot).toBe(50);
    pr.becomeProbe();
    expect([pr.state, pr.next, pr.pendingSnapshot]).toEqual(["probe", 51, 0]);
    // A failed snapshot (pendingSnapshot forgotten) probes from the last known match.
    pr.becomeSnapshot(50);
    pr.pendingSnapshot = 0;
    pr.becomeProbe();
    expect(pr.next).toBe(11);
  });

  it("state changes reset the probe flag and the inflights", () => {
    const pr = replicating(10);
    pr.sentEntries(1, 11, 1);
    pr.becomeProbe();
    expect(pr.inflights.size()).toBe(0);
    pr.sentEntries(1, 11, 1);
    expect(pr.probeSent).toBe(true);
    pr.becomeReplicate();
    expect(pr.probeSent).toBe(false);
  });
});
