import { describe, expect, it } from "vitest";
import { TimerWheel } from "./timer-wheel.js";

/** Waits until `done` holds (the wheel's interval may run late on a loaded machine). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 1_000) throw new Error("the wheel did not run its callbacks within 10 s");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("TimerWheel", () => {
  it("runs each callback once, in due order, never before it is due; a cancelled one never", async () => {
    const wheel = new TimerWheel(5);
    const ran: { name: string; lateByMs: number }[] = [];
    const at = (name: string, delayMs: number) => {
      const dueAt = Date.now() + delayMs;
      return wheel.schedule(delayMs, () => ran.push({ name, lateByMs: Date.now() - dueAt }));
    };
    at("c", 40);
    at("a", 0);
    const cancelled = at("x", 20);
    at("b", 15);
    wheel.cancel(cancelled);
    wheel.cancel(cancelled); // twice is harmless
    await until(() => ran.length >= 3);
    await new Promise((r) => setTimeout(r, 30)); // "x" would have run by now
    expect(ran.map((r) => r.name)).toEqual(["a", "b", "c"]);
    for (const r of ran) expect(r.lateByMs, r.name).toBeGreaterThanOrEqual(0);
  });

  it("lets a callback schedule the next one (an agent's next heartbeat)", async () => {
    const wheel = new TimerWheel(5);
    let runs = 0;
    const beat = () => {
      runs++;
      if (runs < 3) wheel.schedule(5, beat);
    };
    wheel.schedule(0, beat);
    await until(() => runs >= 3);
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toBe(3);
  });
});
