import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { resolveAdvertiseAddress, withDefaultPort } from "./addresses.js";
import { DaemonErrorCode } from "./errors.js";

describe("withDefaultPort", () => {
  it("adds 4270 and keeps a given port", () => {
    expect(withDefaultPort("10.0.0.1", "x")).toBe("10.0.0.1:4270");
    expect(withDefaultPort("10.0.0.1:5000", "x")).toBe("10.0.0.1:5000");
    expect(withDefaultPort("[::1]:7", "x")).toBe("[::1]:7");
  });

  it("refuses a malformed address naming what it is", () => {
    expect(() => withDefaultPort("a:b:c d", "manager address")).toThrow(/manager address "a:b:c d"/);
    try {
      withDefaultPort("h:99999", "listen address");
    } catch (err) {
      expect(ShoalError.is(err, DaemonErrorCode.InvalidArgument)).toBe(true);
    }
  });
});

describe("resolveAdvertiseAddress", () => {
  it("takes the advertise address, with the listen port when it has none", () => {
    expect(resolveAdvertiseAddress("10.1.1.1", "0.0.0.0:4300")).toBe("10.1.1.1:4300");
    expect(resolveAdvertiseAddress("10.1.1.1:9", "0.0.0.0:4300")).toBe("10.1.1.1:9");
  });

  it("uses a specific listen address, or the one interface address for a wildcard", () => {
    expect(resolveAdvertiseAddress(undefined, "10.2.2.2:4270")).toBe("10.2.2.2:4270");
    expect(resolveAdvertiseAddress("", "0.0.0.0:4270", () => ["10.3.3.3"])).toBe("10.3.3.3:4270");
    expect(() => resolveAdvertiseAddress(undefined, "0.0.0.0:4270", () => ["10.3.3.3", "10.4.4.4"])).toThrow(
      /ambiguous: 10.3.3.3, 10.4.4.4/,
    );
    expect(() => resolveAdvertiseAddress(undefined, "0.0.0.0:4270", () => [])).toThrow(/no non-loopback/);
  });
});
