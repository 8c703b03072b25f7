import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { node } from "../test/fixtures.js";
import { compileConstraint, compileConstraints, nodeMatchesConstraints } from "./constraints.js";
import { SchedulerErrorCode } from "./errors.js";

const n1 = node("abc123", {
  hostname: "Web-1",
  role: "manager",
  labels: { zone: "EU-1", Disk: "ssd", empty: "" },
  engineLabels: { kernel: "6.1" },
  platform: { os: "Linux", architecture: "x86_64" },
  addr: "192.168.1.20:4270",
});

function matches(expr: string, n = n1): boolean {
  return nodeMatchesConstraints([compileConstraint(expr)], n);
}

describe("constraint matching", () => {
  it.each([
    ["node.id == abc123", true],
    ["node.id != abc123", false],
    ["node.id == ABC123", true],
    ["node.hostname == web-1", true],
    ["node.hostname==WEB-1", true],
    ["node.hostname != web-2", true],
    ["node.role == manager", true],
    ["node.role == worker", false],
    ["node.role != worker", true],
    ["node.platform.os == linux", true],
    ["node.platform.os == windows", false],
    ["node.platform.arch == amd64", true],
    ["node.platform.arch == x86_64", true],
    ["node.platform.arch == arm64", false],
    ["node.labels.zone == eu-1", true],
    ["node.labels.zone == eu-2", false],
    ["node.labels.zone != eu-2", true],
    ["node.labels.Disk == SSD", true],
    ["engine.labels.kernel == 6.1", true],
    ["engine.labels.kernel != 6.1", false],
  ])("%s → %s", (expr, want) => {
    expect(matches(expr)).toBe(want);
  });

  it("label keys are case-sensitive", () => {
    expect(matches("node.labels.Zone == eu-1")).toBe(false);
    expect(matches("node.labels.disk == ssd")).toBe(false);
  });

  it("a missing label equals the empty string", () => {
    expect(matches("node.labels.rack != a")).toBe(true);
    expect(matches("node.labels.rack == a")).toBe(false);
    expect(matches("engine.labels.gpu != true")).toBe(true);
    // A label set to "" is the same as a missing one for constraints.
    expect(matches("node.labels.empty != a")).toBe(true);
    expect(matches("node.labels.empty == a")).toBe(false);
  });

  it("compares roles case-insensitively", () => {
    expect(matches("node.role == Manager")).toBe(true);
    expect(matches("node.role != WORKER")).toBe(true);
  });

  it("node.ip matches an exact address, ignoring the port", () => {
    expect(matches("node.ip == 192.168.1.20")).toBe(true);
    expect(matches("node.ip == 192.168.1.21")).toBe(false);
    expect(matches("node.ip != 192.168.1.21")).toBe(true);
    expect(matches("node.ip == ::ffff:192.168.1.20")).toBe(true);
  });

  it("node.ip matches a CIDR network", () => {
    expect(matches("node.ip == 192.168.0.0/16")).toBe(true);
    expect(matches("node.ip == 192.168.1.16/30")).toBe(false);
    expect(matches("node.ip == 192.168.1.16/29")).toBe(true);
    expect(matches("node.ip != 10.0.0.0/8")).toBe(true);
    expect(matches("node.ip == 0.0.0.0/0")).toBe(true);
  });

  it("node.ip works for IPv6", () => {
    const v6 = node("x", { addr: "[2001:db8::7]:4270" });
    expect(matches("node.ip == 2001:db8::7", v6)).toBe(true);
    expect(matches("node.ip == 2001:0db8:0:0:0:0:0:7", v6)).toBe(true);
    expect(matches("node.ip == 2001:db8::/32", v6)).toBe(true);
    expect(matches("node.ip == 2001:db9::/32", v6)).toBe(false);
    expect(matches("node.ip == 10.0.0.0/8", v6)).toBe(false);
  });

  it("all constraints must hold", () => {
    const cs = compileConstraints(["node.role == manager", "node.labels.zone == eu-1"]);
    expect(nodeMatchesConstraints(cs, n1)).toBe(true);
    const cs2 = compileConstraints(["node.role == manager", "node.labels.zone == eu-2"]);
    expect(nodeMatchesConstraints(cs2, n1)).toBe(false);
  });
});

describe("constraint parsing", () => {
  it("trims spaces around key and value", () => {
    const c = compileConstraint("  node.labels.zone   ==   EU-1  ");
    expect(c).toMatchObject({ key: "node.labels.zone", operator: "==", value: "eu-1" });
  });

  it.each([
    ["node.role = manager", "is not a valid constraint"],
    ["node.role", "is not a valid constraint"],
    ["node.role == a == b", "is not a valid constraint"],
    ["node.colour == red", 'unknown key "node.colour"'],
    ["Node.Role == manager", 'unknown key "Node.Role"'],
    [" == manager", "is not a valid constraint"],
    ["node.labels. == x", 'unknown key "node.labels."'],
    ["node.ip == 300.1.1.1", "neither an IP address nor a CIDR"],
    ["node.ip == 10.0.0.0/33", "neither an IP address nor a CIDR"],
    ["node.ip == 10.0.0.01", "neither an IP address nor a CIDR"],
    ["node.ip == fe80::1%eth0", "neither an IP address nor a CIDR"],
    ["node.labels.rack ==", "has an empty value"],
    ["node.role == leader", 'compares node.role with "leader"'],
  ])("rejects %j (%s)", (expr, why) => {
    let caught: unknown;
    try {
      compileConstraint(expr);
    } catch (err) {
      caught = err;
    }
    expect(ShoalError.is(caught, SchedulerErrorCode.InvalidConstraint)).toBe(true);
    expect((caught as Error).message).toContain(why);
    expect((caught as Error).message).toContain(`constraint "${expr}"`);
  });
});
