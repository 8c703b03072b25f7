import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { errorCode, ignoring } from "./ignore.js";

describe("ignoring", () => {
  it("resolves to the fallback for a named errno code", async () => {
    const err = Object.assign(new Error("no such file"), { code: "ENOENT" });
    await expect(ignoring(Promise.reject(err), ["ENOENT"], "none")).resolves.toBe("none");
  });

  it("resolves to the fallback for a named ShoalError code", async () => {
    const err = new ShoalError("CONTAINER_NOT_FOUND", 'container "x" not found');
    await expect(ignoring(Promise.reject(err), ["CONTAINER_NOT_FOUND"], undefined)).resolves.toBeUndefined();
  });

  it("rethrows a failure it was not told to ignore", async () => {
    const err = Object.assign(new Error("permission denied"), { code: "EACCES" });
    await expect(ignoring(Promise.reject(err), ["ENOENT"], "none")).rejects.toBe(err);
    await expect(ignoring(Promise.reject(new Error("plain")), ["ENOENT"], "none")).rejects.toThrow("plain");
  });

  it("passes a success through", async () => {
    await expect(ignoring(Promise.resolve(7), ["ENOENT"], 0)).resolves.toBe(7);
    expect(errorCode("text")).toBeUndefined();
  });
});
