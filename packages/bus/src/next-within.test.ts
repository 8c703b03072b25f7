import { describe, expect, it } from "vitest";
import { nextWithin } from "./next-within.js";

describe("nextWithin", () => {
  it("gives the next value when it comes in time, and undefined when it does not", async () => {
    async function* slow() {
      yield 1;
      await new Promise((r) => setTimeout(r, 200));
      yield 2;
    }
    const it = slow();
    expect(await nextWithin(it, 100)).toEqual({ value: 1, done: false });
    expect(await nextWithin(it, 20)).toBeUndefined();
  });
});
