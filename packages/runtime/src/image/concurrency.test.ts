import { describe, expect, it } from "vitest";
import { mapLimit, SharedExclusiveLock, Singleflight } from "./concurrency.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("mapLimit", () => {
  it("keeps at most `limit` in flight and lets running work finish before throwing", async () => {
    let running = 0;
    let peak = 0;
    const finished: number[] = [];
    const started: number[] = [];
    const err = await mapLimit([0, 1, 2, 3, 4, 5], 2, async (i) => {
      running++;
      started.push(i);
      peak = Math.max(peak, running);
      await tick();
      running--;
      if (i === 1) throw new Error("boom");
      finished.push(i);
      return i;
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe("boom");
    expect(peak).toBe(2);
    expect(running).toBe(0);
    // Whatever started has finished by the time the error is thrown; nothing new started after it.
    expect(finished.length).toBe(started.length - 1);
    expect(started.length).toBeLessThan(6);
  });
});

describe("Singleflight", () => {
  it("shares one run per key", async () => {
    const flight = new Singleflight<number>();
    let runs = 0;
    const work = async () => {
      runs++;
      await tick();
      return 7;
    };
    expect(await Promise.all([flight.run("a", work), flight.run("a", work)])).toEqual([7, 7]);
    expect(runs).toBe(1);
    await flight.run("a", work);
    expect(runs).toBe(2);
  });
});

describe("SharedExclusiveLock", () => {
  it("runs shared holders together and an exclusive one alone, in arrival order", async () => {
    const lock = new SharedExclusiveLock();
    const log: string[] = [];
    const hold = (name: string, exclusive: boolean) =>
      (exclusive ? lock.withExclusive.bind(lock) : lock.withShared.bind(lock))(async () => {
        log.push(`+${name}`);
        await tick();
        log.push(`-${name}`);
      });
    await Promise.all([hold("s1", false), hold("s2", false), hold("x", true), hold("s3", false)]);
    expect(log).toEqual(["+s1", "+s2", "-s1", "-s2", "+x", "-x", "+s3", "-s3"]);
    expect(lock.isIdle).toBe(true);
  });

  it("rejects only the caller whose signal aborted; the shared work goes on for the others", async () => {
    const flight = new Singleflight<number>();
    let workSignal: AbortSignal | undefined;
    let finish: (v: number) => void = () => {};
    const work = (signal: AbortSignal) => {
      workSignal = signal;
      return new Promise<number>((resolve) => {
        finish = resolve;
      });
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = flight.run("a", work, first.signal);
    const b = flight.run("a", work, second.signal);
    first.abort(new Error("first gave up"));
    await expect(a).rejects.toThrow("first gave up");
    expect(workSignal?.aborted).toBe(false);
    finish(7);
    expect(await b).toBe(7);
  });

  it("cancels the shared work once every waiting caller has given up", async () => {
    const flight = new Singleflight<number>();
    let workSignal: AbortSignal | undefined;
    const work = (signal: AbortSignal) => {
      workSignal = signal;
      return new Promise<number>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason)),
      );
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = flight.run("a", work, first.signal).catch((e: unknown) => e);
    const b = flight.run("a", work, second.signal).catch((e: unknown) => e);
    first.abort(new Error("one"));
    await a;
    expect(workSignal?.aborted).toBe(false);
    second.abort(new Error("two"));
    expect(((await b) as Error).message).toBe("two");
    expect(workSignal?.aborted).toBe(true);
    expect(flight.has("a")).toBe(false);
  });
});
