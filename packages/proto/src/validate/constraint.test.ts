import { describe, expect, it } from "vitest";
import { isConstraintKey, parseConstraint } from "./constraint.js";

describe("parseConstraint", () => {
  it.each([
    ["node.role==manager", { key: "node.role", operator: "==", value: "manager" }],
    ["node.labels.zone != eu-1", { key: "node.labels.zone", operator: "!=", value: "eu-1" }],
    ["engine.labels.ssd==true", { key: "engine.labels.ssd", operator: "==", value: "true" }],
    ["node.hostname==h1.example", { key: "node.hostname", operator: "==", value: "h1.example" }],
  ])("parses %s", (text, constraint) => {
    expect(parseConstraint(text)).toEqual({ ok: true, constraint });
  });

  it.each([
    ["node.role=manager", '"node.role=manager" is not a valid constraint; use key==value or key!=value'],
    ["==x", '"==x" is not a valid constraint; use key==value or key!=value'],
    ["a==b==c", '"a==b==c" is not a valid constraint; use key==value or key!=value'],
    ["node.labels.==x", expect.stringContaining('has unknown key "node.labels."')],
  ])("rejects %s", (text, reason) => {
    expect(parseConstraint(text)).toEqual({ ok: false, reason });
  });

  it("knows the keys", () => {
    expect(isConstraintKey("node.platform.arch")).toBe(true);
    expect(isConstraintKey("node.labels")).toBe(false);
  });
});
