import { describe, expect, it } from "vitest";
import { hostNetns, MAX_SLOT, rootLinkName, slotOfNetns, slotOfRootLink, switchNetns } from "./names.js";

describe("names", () => {
  it("puts the slot in every kernel-global name and stays within IFNAMSIZ", () => {
    expect(switchNetns(17)).toBe("shoal-t17-sw");
    expect(hostNetns(17, 3)).toBe("shoal-t17-h3");
    expect(rootLinkName(MAX_SLOT)).toBe("shoaltk255");
    expect(rootLinkName(MAX_SLOT).length).toBeLessThanOrEqual(15);
  });

  it.each([
    ["shoal-t17-sw", 17],
    ["shoal-t0-h1", 0],
    ["shoal-t255-h200", 255],
    ["shoal-t256-h1", undefined],
    ["shoal-test-h1", undefined],
    ["shoal-t17-h1-extra", undefined],
    ["shoal-t17-x1", undefined],
    ["nt1-x0", undefined],
  ])("recognises its own namespace names only: %s → %s", (name, slot) => {
    expect(slotOfNetns(name)).toBe(slot);
  });

  it.each([
    ["shoaltk4", 4],
    ["shoaltk", undefined],
    ["shoaltk4x", undefined],
    ["shoal0", undefined],
  ])("recognises its own root link names only: %s → %s", (name, slot) => {
    expect(slotOfRootLink(name)).toBe(slot);
  });
});
