import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  normalizeCapability,
  resolveCapabilities,
} from "./capabilities.js";

describe("capabilities", () => {
  it("gives Docker's default set with no add or drop", () => {
    expect(resolveCapabilities().sort()).toEqual([...DEFAULT_CAPABILITIES].sort());
  });

  it("adds and drops by short or full name, any case", () => {
    const caps = resolveCapabilities(["net_admin"], ["CAP_CHOWN", "MKNOD"]);
    expect(caps).toContain("CAP_NET_ADMIN");
    expect(caps).not.toContain("CAP_CHOWN");
    expect(caps).not.toContain("CAP_MKNOD");
  });

  it("drop ALL keeps only the explicit adds", () => {
    expect(resolveCapabilities(["KILL"], ["ALL"])).toEqual(["CAP_KILL"]);
  });

  it("add ALL gives every known capability minus drops", () => {
    const caps = resolveCapabilities(["ALL"], ["SYS_ADMIN"]);
    expect(caps.length).toBe(KNOWN_CAPABILITIES.length - 1);
    expect(caps).not.toContain("CAP_SYS_ADMIN");
  });

  it("rejects an unknown capability with its name", () => {
    expect(() => normalizeCapability("FLY")).toThrowError(/capability "FLY" is not known/);
    try {
      normalizeCapability("FLY");
    } catch (err) {
      expect(ShoalError.is(err, "CONTAINER_INVALID_SPEC")).toBe(true);
    }
  });
});
