import { ManualClock, type Random, seededRandom } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { CertificateRenewer } from "./certificate-renewer.js";

interface FakeCert {
  notBeforeMs: number;
  notAfterMs: number;
  n: number;
}

/** Random fixed at the middle of every range, so the schedule is 65 % of the lifetime exactly. */
const middle: Random = { ...seededRandom(1), next: () => 0.5 };

function setup(options: { failTimes?: number } = {}) {
  const clock = new ManualClock(0);
  const stored: FakeCert[] = [];
  const renewedAtMs: number[] = [];
  let failuresLeft = options.failTimes ?? 0;
  let n = 0;
  const renewer = new CertificateRenewer<FakeCert>({
    clock,
    random: middle,
    current: { notBeforeMs: 0, notAfterMs: 100_000, n: 0 },
    retryMinMs: 1000,
    retryMaxMs: 8000,
    renew: async () => {
      renewedAtMs.push(clock.now());
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error("manager unreachable");
      }
      n++;
      return { notBeforeMs: clock.now(), notAfterMs: clock.now() + 100_000, n };
    },
    store: (cert) => {
      stored.push(cert);
    },
  });
  const controller = new AbortController();
  const running = renewer.run(controller.signal);
  return { clock, renewer, stored, renewedAtMs, controller, running };
}

describe("CertificateRenewer", () => {
  it("renews at the scheduled point of each certificate's lifetime and stores the result", async () => {
    const { clock, renewer, stored, renewedAtMs, controller, running } = setup();
    await clock.advanceAsync(64_999);
    expect(renewedAtMs).toEqual([]);
    await clock.advanceAsync(1);
    expect(renewedAtMs).toEqual([65_000]);
    expect(stored.map((c) => c.n)).toEqual([1]);
    expect(renewer.current.n).toBe(1);
    // The next one is scheduled from the new certificate: 65 % of its lifetime after 65 s.
    await clock.advanceAsync(65_000);
    expect(renewedAtMs).toEqual([65_000, 130_000]);
    controller.abort();
    await running;
  });

  it("retries a failed renewal with doubling, jittered backoff until it works", async () => {
    const { clock, stored, renewedAtMs, controller, running } = setup({ failTimes: 3 });
    await clock.advanceAsync(65_000);
    // Equal jitter at 0.5: waits of 75 % of 1 s, 2 s, 4 s.
    await clock.advanceAsync(750 + 1500 + 3000);
    expect(renewedAtMs).toEqual([65_000, 65_750, 67_250, 70_250]);
    expect(stored).toHaveLength(1);
    controller.abort();
    await running;
  });

  it("renews at once when asked (a role change)", async () => {
    const { clock, renewer, renewedAtMs, controller, running } = setup();
    await clock.advanceAsync(10_000);
    renewer.renewNow();
    await clock.advanceAsync(0);
    expect(renewedAtMs).toEqual([10_000]);
    controller.abort();
    await running;
  });

  it("stops when its signal is aborted, leaving no timer behind", async () => {
    const { clock, renewedAtMs, controller, running } = setup();
    await clock.advanceAsync(1000);
    controller.abort();
    await running;
    expect(clock.pendingTimers()).toBe(0);
    await clock.advanceAsync(200_000);
    expect(renewedAtMs).toEqual([]);
  });

  it("renews at once when the certificate has already expired", async () => {
    const clock = new ManualClock(500_000);
    const renewedAtMs: number[] = [];
    const renewer = new CertificateRenewer({
      clock,
      random: middle,
      current: { notBeforeMs: 0, notAfterMs: 100_000 },
      renew: async () => {
        renewedAtMs.push(clock.now());
        return { notBeforeMs: clock.now(), notAfterMs: clock.now() + 100_000 };
      },
      store: () => {},
    });
    const controller = new AbortController();
    const running = renewer.run(controller.signal);
    await clock.advanceAsync(0);
    expect(renewedAtMs).toEqual([500_000]);
    controller.abort();
    await running;
  });

  it("after a role change, keeps renewing until the certificate carries the new role", async () => {
    const clock = new ManualClock(0);
    const stored: { role: string }[] = [];
    let issuedRole = "worker";
    let calls = 0;
    const renewer = new CertificateRenewer({
      clock,
      random: middle,
      current: { notBeforeMs: 0, notAfterMs: 100_000, role: "worker" },
      retryMinMs: 1000,
      renew: async () => {
        calls++;
        // The CA applies the promotion only from the third request on.
        if (calls === 3) issuedRole = "manager";
        return { notBeforeMs: clock.now(), notAfterMs: clock.now() + 100_000, role: issuedRole };
      },
      store: (cert) => {
        stored.push(cert);
      },
    });
    const controller = new AbortController();
    const running = renewer.run(controller.signal);
    renewer.renewNow((cert) => cert.role === "manager");
    await clock.advanceAsync(0);
    expect(calls).toBe(1);
    expect(stored).toEqual([]);
    await clock.advanceAsync(750 + 1500);
    expect(calls).toBe(3);
    expect(stored.map((c) => c.role)).toEqual(["manager"]);
    expect(renewer.current.role).toBe("manager");
    controller.abort();
    await running;
  });
});
