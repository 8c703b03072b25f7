import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import type { Entry } from "../types.js";
import { NodeErrorCode } from "./errors.js";
import { PendingProposals } from "./pending.js";

const entry = (index: number, term: number): Entry => ({
  index,
  term,
  type: "normal",
  data: new Uint8Array([1]),
});

describe("PendingProposals", () => {
  it("resolves a proposal only when the entry applied at its index has its term", async () => {
    const p = new PendingProposals();
    const ours = new Promise((resolve, reject) => p.add(7, 3, resolve, reject));
    p.applied(entry(7, 4));
    const err = await ours.catch((e: unknown) => e);
    expect(ShoalError.is(err, NodeErrorCode.EntryReplaced)).toBe(true);

    const next = new Promise((resolve, reject) => p.add(8, 4, resolve, reject));
    p.applied(entry(8, 4));
    await expect(next).resolves.toEqual({ index: 8, term: 4 });
  });

  // The mutation "a proposal resolved whatever the term of the entry applied at its index" is
  // caught here rather than by the simulator: RaftNode rejects every pending proposal when the
  // node stops leading, which happens before any entry of another term can be applied at a slot
  // it proposed into, so the sweep cannot observe the term check on its own.
  it("the deliberately unsafe variant reports a replaced entry as applied (what the test above catches)", async () => {
    const p = new PendingProposals(true);
    const ours = new Promise((resolve, reject) => p.add(7, 3, resolve, reject));
    p.applied(entry(7, 4));
    await expect(ours).resolves.toEqual({ index: 7, term: 4 });
  });
});
