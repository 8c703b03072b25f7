import { describe, expect, it } from "vitest";
import { checkQuorumSafety, type ManagerMember } from "./quorum-safety.js";

const m = (name: string, reachable = true, voter = true): ManagerMember => ({
  nodeId: `id-${name}`,
  name,
  reachable,
  voter,
});

describe("checkQuorumSafety", () => {
  it("refuses with the issue's message when the change would cost quorum", () => {
    const result = checkQuorumSafety([m("m1"), m("m2"), m("m3", false)], "id-m2", "demote");
    expect(result).toMatchObject({
      kind: "unsafe",
      message: 'demoting node "m2" would leave 1 of 3 managers reachable; the cluster would lose quorum',
      hint: 'bring back the unreachable managers ("m3") first, or repeat with --force',
    });
  });

  it.each([
    ["3 reachable, demote one", [m("m1"), m("m2"), m("m3")], "id-m3", "safe"],
    ["3 with one down, remove the down one", [m("m1"), m("m2"), m("m3", false)], "id-m3", "safe"],
    [
      "5 with two down, remove a reachable one",
      [m("a"), m("b"), m("c"), m("d", false), m("e", false)],
      "id-a",
      "unsafe",
    ],
    [
      "5 with one down, remove a reachable one",
      [m("a"), m("b"), m("c"), m("d"), m("e", false)],
      "id-a",
      "safe",
    ],
    ["2 managers, one leaves", [m("m1"), m("m2")], "id-m2", "safe"],
    ["2 managers, the other is down", [m("m1"), m("m2", false)], "id-m1", "unsafe"],
    ["a learner never counts", [m("m1"), m("m2", false, false)], "id-m2", "safe"],
    ["an unknown node is not a manager", [m("m1")], "id-x", "safe"],
  ] as const)("%s → %s", (_what, members, nodeId, kind) => {
    expect(checkQuorumSafety(members, nodeId, "remove").kind).toBe(kind);
  });

  it("refuses to take away the last manager", () => {
    expect(checkQuorumSafety([m("only")], "id-only", "leave")).toMatchObject({
      kind: "unsafe",
      message: 'node "only" leaving the cluster would leave the cluster without managers',
    });
  });

  it("names the change in the message", () => {
    const members = [m("m1"), m("m2", false)];
    expect(checkQuorumSafety(members, "id-m1", "remove")).toMatchObject({
      message: 'removing node "m1" would leave 0 of 2 managers reachable; the cluster would lose quorum',
    });
  });
});
