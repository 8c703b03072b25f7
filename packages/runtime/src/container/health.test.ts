import { ManualClock, silentLogger } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { initialHealth, nextHealth, resolveHealthcheck } from "./health.js";
import { HealthMonitor } from "./health-monitor.js";

const ok = (t: number) => ({ startedAtMs: t, endedAtMs: t, exitCode: 0, output: "ok" });
const bad = (t: number) => ({ startedAtMs: t, endedAtMs: t, exitCode: 1, output: "bad" });

describe("resolveHealthcheck", () => {
  it("turns CMD and CMD-SHELL into argv and fills defaults", () => {
    expect(resolveHealthcheck({ test: ["CMD", "/bin/true"] }, undefined)).toEqual({
      argv: ["/bin/true"],
      intervalMs: 30000,
      timeoutMs: 30000,
      retries: 3,
      startPeriodMs: 0,
    });
    expect(resolveHealthcheck({ test: ["CMD-SHELL", "test -f /ok"] }, undefined)?.argv).toEqual([
      "/bin/sh",
      "-c",
      "test -f /ok",
    ]);
  });
  it("takes the image's check spec fields winning", () => {
    const check = resolveHealthcheck(
      { test: [], retries: 7 },
      { test: ["CMD", "x"], intervalMs: 2000, timeoutMs: 1000 },
    );
    expect(check).toMatchObject({ argv: ["x"], intervalMs: 2000, timeoutMs: 1000, retries: 7 });
  });
  it("is disabled by NONE or no test", () => {
    expect(resolveHealthcheck({ test: ["NONE"] }, { test: ["CMD", "x"] })).toBeUndefined();
    expect(resolveHealthcheck(undefined, undefined)).toBeUndefined();
  });
  it("rejects an unknown kind", () => {
    expect(() => resolveHealthcheck({ test: ["RUN", "x"] }, undefined)).toThrowError(/must start with CMD/);
  });
});

describe("nextHealth", () => {
  it("goes healthy on the first success and unhealthy after `retries` failures", () => {
    let h = initialHealth();
    h = nextHealth(h, ok(1), { retries: 2, inStartPeriod: false });
    expect(h.status).toBe("healthy");
    h = nextHealth(h, bad(2), { retries: 2, inStartPeriod: false });
    expect(h).toMatchObject({ status: "healthy", failingStreak: 1 });
    h = nextHealth(h, bad(3), { retries: 2, inStartPeriod: false });
    expect(h).toMatchObject({ status: "unhealthy", failingStreak: 2 });
    h = nextHealth(h, ok(4), { retries: 2, inStartPeriod: false });
    expect(h).toMatchObject({ status: "healthy", failingStreak: 0 });
  });
  it("does not count failures in the start period while starting", () => {
    let h = initialHealth();
    for (let i = 0; i < 5; i++) h = nextHealth(h, bad(i), { retries: 1, inStartPeriod: true });
    expect(h).toMatchObject({ status: "starting", failingStreak: 0 });
    expect(h.log).toHaveLength(5);
    h = nextHealth(h, bad(9), { retries: 1, inStartPeriod: false });
    expect(h.status).toBe("unhealthy");
  });
  it("keeps the last five results", () => {
    let h = initialHealth();
    for (let i = 0; i < 8; i++) h = nextHealth(h, ok(i), { retries: 3, inStartPeriod: false });
    expect(h.log.map((r) => r.startedAtMs)).toEqual([3, 4, 5, 6, 7]);
  });
});

describe("HealthMonitor", () => {
  it("probes every interval on the injected clock", async () => {
    const clock = new ManualClock(1000);
    const results = [0, 0, 1, 1];
    const calls: number[] = [];
    const monitor = new HealthMonitor({
      check: { argv: ["x"], intervalMs: 100, timeoutMs: 50, retries: 2, startPeriodMs: 0 },
      clock,
      logger: silentLogger(),
      startedAtMs: 1000,
      probe: async () => {
        calls.push(clock.now());
        return { exitCode: results.shift() ?? 1, output: "" };
      },
    });
    monitor.run();
    expect(monitor.current().status).toBe("starting");
    await clock.advanceAsync(100);
    expect(monitor.current().status).toBe("healthy");
    await clock.advanceAsync(300);
    expect(monitor.current().status).toBe("unhealthy");
    expect(calls).toEqual([1100, 1200, 1300, 1400]);
    monitor.stop();
    await clock.advanceAsync(1000);
    expect(calls).toHaveLength(4);
  });
});
