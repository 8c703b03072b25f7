import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import type { Entry } from "../types.js";
import { NodeErrorCode } from "./errors.js";
import { PendingProposals } from "./pending.js";

const lost = () => new ShoalError(NodeErrorCode.LeadershipLost, "lost");

const entry = (index: number, term: number): Entry => ({
  index,
  term,
  type: "normal",
  data: new Uint8Array([1]),
});

describe("PendingProposals", () => {
  it("resolves a proposal only when the entry applied at its index has its term", async () => {
    const p = new PendingProposals();
    const ours = new Promise((resolve, reject) => p.add(7, 3, resolve, reject, lost));
    p.applied(entry(7, 4));
    const err = await ours.catch((e: unknown) => e);
    expect(ShoalError.is(err, NodeErrorCode.EntryReplaced)).toBe(true);

    const next = new Promise((resolve, reject) => p.add(8, 4, resolve, reject, lost));
    p.applied(entry(8, 4));
    await expect(next).resolves.toEqual({ index: 8, term: 4 });
  });

  // A deposed leader keeps its proposals pending (RaftNode.onSoftState): the entry it then applies
  // at each index settles it, so the term check is what tells a kept entry from a replaced one.
  // The production-driver sweep catches the mutation that skips it (broken-variant.test.ts).
  it("keeps proposals after leadership is lost and settles each by the entry applied at its index", async () => {
    const p = new PendingProposals();
    const kept = new Promise((resolve, reject) => p.add(7, 3, resolve, reject, lost));
    const replacedOne = new Promise((resolve, reject) => p.add(8, 3, resolve, reject, lost));
    const open = new Promise((resolve, reject) => p.add(9, 3, resolve, reject, lost)).catch(
      (e: unknown) => e,
    );
    const token = p.orphanAll();
    p.applied(entry(7, 3));
    p.applied(entry(8, 4));
    await expect(kept).resolves.toEqual({ index: 7, term: 3 });
    const err = await replacedOne.catch((e: unknown) => e);
    expect(ShoalError.is(err, NodeErrorCode.EntryReplaced)).toBe(true);
    // Leading again: a new proposal at 10 is not an orphan and outlives the old deadline.
    const fresh = new Promise((resolve, reject) => p.add(10, 5, resolve, reject, lost));
    p.expireOrphans(token, lost);
    expect(ShoalError.is(await open, NodeErrorCode.LeadershipLost)).toBe(true);
    p.applied(entry(10, 5));
    await expect(fresh).resolves.toEqual({ index: 10, term: 5 });
  });

  it("an orphan whose slot this node fills again as leader has an unknown outcome, not a replaced one", async () => {
    const p = new PendingProposals();
    const orphan = new Promise((resolve, reject) => p.add(7, 3, resolve, reject, lost)).catch(
      (e: unknown) => e,
    );
    p.orphanAll();
    void new Promise((resolve, reject) => p.add(7, 5, resolve, reject, lost));
    expect(ShoalError.is(await orphan, NodeErrorCode.LeadershipLost)).toBe(true);
  });

  it("the deliberately unsafe variant reports a replaced entry as applied (what the tests above catch)", async () => {
    const p = new PendingProposals(true);
    const ours = new Promise((resolve, reject) => p.add(7, 3, resolve, reject, lost));
    p.applied(entry(7, 4));
    await expect(ours).resolves.toEqual({ index: 7, term: 4 });
  });
});
