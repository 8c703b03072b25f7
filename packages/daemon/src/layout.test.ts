import { describe, expect, it } from "vitest";
import { DEFAULT_DATA_DIR, daemonLayout } from "./layout.js";

describe("daemonLayout", () => {
  it("keeps the runtime's plain names for the default data dir", () => {
    const l = daemonLayout(DEFAULT_DATA_DIR);
    expect(l).toMatchObject({ bridge: "shoal0", chainPrefix: "SHOAL", nodeFile: "/var/lib/shoal/node.json" });
    expect(l.cgroupParent("abc")).toBe("/shoal/abc");
  });

  it("gives two data dirs different kernel names within the kernel's limits", () => {
    const a = daemonLayout("/tmp/x/h1");
    const b = daemonLayout("/tmp/x/h2/");
    expect(a.bridge).not.toBe(b.bridge);
    expect(a.chainPrefix).not.toBe(b.chainPrefix);
    expect(a.netnsPrefix).not.toBe(b.netnsPrefix);
    for (const l of [a, b]) {
      expect(l.bridge.length).toBeLessThanOrEqual(15);
      expect(`${l.chainPrefix}-POSTROUTING`.length).toBeLessThanOrEqual(28);
    }
    expect(daemonLayout("/tmp/x/h1/").bridge).toBe(a.bridge);
  });
});
