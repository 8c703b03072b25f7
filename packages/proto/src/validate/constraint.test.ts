import { describe, expect, it } from "vitest";
import { isConstraintKey, isSpreadKey, parseConstraint } from "./constraint.js";

describe("parseConstraint", () => {
  it.each([
    ["node.role==manager", { key: "node.role", operator: "==", value: "manager" }],
    ["node.role == Worker", { key: "node.role", operator: "==", value: "Worker" }],
    ["node.labels.zone != eu-1", { key: "node.labels.zone", operator: "!=", value: "eu-1" }],
    ["engine.labels.ssd==true", { key: "engine.labels.ssd", operator: "==", value: "true" }],
    ["node.hostname==h1.example", { key: "node.hostname", operator: "==", value: "h1.example" }],
    ["node.ip==10.0.0.0/8", { key: "node.ip", operator: "==", value: "10.0.0.0/8" }],
    ["node.ip != 2001:db8::7", { key: "node.ip", operator: "!=", value: "2001:db8::7" }],
  ])("parses %s", (text, constraint) => {
    expect(parseConstraint(text)).toEqual({ ok: true, constraint });
  });

  it.each([
    ["node.role=manager", '"node.role=manager" is not a valid constraint; use key==value or key!=value'],
    ["==x", '"==x" is not a valid constraint; use key==value or key!=value'],
    ["a==b==c", '"a==b==c" is not a valid constraint; use key==value or key!=value'],
    ["node.labels.==x", expect.stringContaining('has unknown key "node.labels."')],
    ["node.labels.a b==x", expect.stringContaining('has unknown key "node.labels.a b"')],
    ["node.ip==1.2.3.04", expect.stringContaining("neither an IP address nor a CIDR network")],
    ["node.ip==fe80::1%eth0", expect.stringContaining("neither an IP address nor a CIDR network")],
  ])("rejects %s", (text, reason) => {
    expect(parseConstraint(text)).toEqual({ ok: false, reason });
  });

  it("knows the keys", () => {
    expect(isConstraintKey("node.platform.arch")).toBe(true);
    expect(isConstraintKey("node.ip")).toBe(true);
    expect(isConstraintKey("node.labels")).toBe(false);
    expect(isSpreadKey("node.labels.zone")).toBe(true);
    expect(isSpreadKey("node.id")).toBe(false);
    expect(isSpreadKey("node.ip")).toBe(false);
  });
});
