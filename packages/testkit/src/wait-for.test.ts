import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { TestkitErrorCode } from "./errors.js";
import { waitFor } from "./wait-for.js";

describe("waitFor", () => {
  it("resolves with the first truthy value, retrying falsy values and throws", async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls++;
        if (calls === 1) throw new Error("not yet");
        return calls >= 3 ? { calls } : false;
      },
      { description: "the third call", intervalMs: 1 },
    );
    expect(value).toEqual({ calls: 3 });
  });

  it("says what it waited for, how long, and the last error when it gives up", async () => {
    const err = await waitFor(
      async () => {
        throw new Error("connection refused");
      },
      { description: 'node "h2" to report ready', timeoutMs: 30, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect(ShoalError.is(err, TestkitErrorCode.WaitTimeout)).toBe(true);
    expect((err as Error).message).toMatch(
      /^timed out after 30 ms waiting for node "h2" to report ready \(\d+ attempts; last error: connection refused\)$/,
    );
  });

  it("reports the last value when the predicate never threw", async () => {
    await expect(
      waitFor(() => 0, { description: "a count above zero", timeoutMs: 10, intervalMs: 5 }),
    ).rejects.toThrow(/waiting for a count above zero \(\d+ attempts; last value: 0\)/);
  });
});
