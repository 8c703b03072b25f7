import { cpus, hostname, totalmem } from "node:os";
import { describe, expect, it } from "vitest";
import { describeNode } from "./node-description.js";

describe("describeNode", () => {
  it("describes this host", () => {
    const d = describeNode({ engineLabels: { zone: "a" } });
    expect(d.hostname).toBe(hostname());
    expect(d.platform).toEqual({
      os: "linux",
      architecture: process.arch === "x64" ? "amd64" : process.arch,
    });
    expect(d.resources?.nanoCpus).toBe(cpus().length * 1e9);
    expect(d.resources?.memoryBytes).toBe(totalmem());
    expect(d.engine?.labels).toEqual({ zone: "a" });
    expect(d.addresses.every((a) => a !== "127.0.0.1" && a !== "::1")).toBe(true);
  });

  it("takes overrides for several agents on one host", () => {
    expect(describeNode({ hostname: "h1", addresses: ["10.0.0.2"] })).toMatchObject({
      hostname: "h1",
      addresses: ["10.0.0.2"],
    });
  });
});
