import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cgroupDir } from "./cgroups.js";
import type { ContainerRuntime } from "./runtime.js";
import { makeSandbox, type Sandbox } from "./test-support.js";
import type { LogEntry } from "./types.js";

const owner = { taskId: "task1", serviceId: "svc1", serviceName: "web", slot: 1 };

async function collect(it: AsyncIterable<LogEntry>): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe("ContainerRuntime on runc", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it("creates, starts, logs, exits and removes a container without leftovers", async () => {
    const rt = await sb.open();
    const created = await rt.create({
      spec: {
        image: "busybox",
        command: [
          "/bin/sh",
          "-c",
          "echo out; echo err >&2; id -u; hostname; cat /etc/hostname; pwd; id -G; exit 3",
        ],
        groups: ["4242"],
        user: "tester",
        dir: "/tmp",
        hostname: "box",
      },
      owner,
    });
    expect(created.state).toBe("created");
    expect(created.name).toBe(`web.1.task1`);
    expect(created.labels["com.shoal.task.id"]).toBe("task1");
    expect(created.labels["com.shoal.node.id"]).toBe("node-1");
    await rt.start(created.id);
    const exit = await rt.wait(created.id);
    expect(exit.exitCode).toBe(3);
    expect(exit.oomKilled).toBe(false);
    const info = await rt.inspect(created.id);
    expect(info.state).toBe("exited");
    const logs = await collect(rt.logs(created.id));
    // stdout and stderr are separate pipes: order within a stream is kept, not across streams.
    expect(logs.filter((l) => l.stream === "stdout").map((l) => l.log)).toEqual([
      "out",
      "1000",
      "box",
      "box",
      "/tmp",
      "1000 10 4242",
    ]);
    expect(logs.filter((l) => l.stream === "stderr").map((l) => l.log)).toEqual(["err"]);
    expect(logs.every((l) => l.timeMs > 0 && l.timeMs <= Date.now())).toBe(true);
    await rt.remove(created.id);
    await rt.remove(created.id); // idempotent
    expect(await rt.list()).toEqual([]);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
    expect(sb.images.holders.size).toBe(0);
  });

  it("removes right after start without racing conmon or the log-link timer", async () => {
    const rt = await sb.open({ logSyncIntervalMs: 1 });
    for (let i = 0; i < 8; i++) {
      const c = await rt.create({
        spec: { image: "busybox", command: ["/bin/sh", "-c", "echo hi; sleep 30"] },
        owner,
      });
      await rt.start(c.id);
      await rt.remove(c.id);
    }
    expect(await rt.list()).toEqual([]);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  it("runs runc create only once networkReady settles, and undoes the create when it rejects", async () => {
    const rt = await sb.open();
    let ready!: () => void;
    const networkReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    let created = false;
    const creating = rt
      .create({ spec: { image: "busybox", command: ["/bin/true"] }, owner, networkReady })
      .then((c) => {
        created = true;
        return c;
      });
    await new Promise((r) => setTimeout(r, 300));
    expect(created).toBe(false);
    expect(await sb.leaks()).toMatchObject({ runc: [] }); // no runc container yet: it waits
    ready();
    const c = await creating;
    expect(c.state).toBe("created");
    await rt.remove(c.id);
    const failing = Promise.reject(new Error("attach failed"));
    await expect(
      rt.create({ spec: { image: "busybox", command: ["/bin/true"] }, owner, networkReady: failing }),
    ).rejects.toThrow(/attach failed/);
    expect(await rt.list()).toEqual([]);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  it("starts processes that exit at once (the start must not race their exit)", async () => {
    const rt = await sb.open();
    for (let i = 0; i < 10; i++) {
      const c = await rt.create({ spec: { image: "busybox", command: ["/bin/true"] }, owner });
      await rt.start(c.id);
      expect((await rt.wait(c.id)).exitCode).toBe(0);
      await rt.remove(c.id);
    }
  });

  it("applies memory, CPU and pids limits in the container's cgroup", async () => {
    const rt = await sb.open();
    const c = await rt.create({
      spec: {
        image: "busybox",
        command: ["/bin/sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; sleep 30"],
        resources: { limits: { memoryBytes: 32 * 1024 * 1024, nanoCpus: 250_000_000, pids: 50 } },
      },
      owner,
    });
    await rt.start(c.id);
    const mem = cgroupDir("memory", c.cgroupPath);
    expect((await readFile(join(mem, "memory.limit_in_bytes"), "utf8")).trim()).toBe(
      String(32 * 1024 * 1024),
    );
    expect((await readFile(join(mem, "memory.memsw.limit_in_bytes"), "utf8")).trim()).toBe(
      String(32 * 1024 * 1024),
    );
    expect((await readFile(join(cgroupDir("cpu", c.cgroupPath), "cpu.cfs_quota_us"), "utf8")).trim()).toBe(
      "25000",
    );
    expect((await readFile(join(cgroupDir("pids", c.cgroupPath), "pids.max"), "utf8")).trim()).toBe("50");
    const stats = await rt.stats(c.id);
    expect(stats.memoryLimitBytes).toBe(32 * 1024 * 1024);
    expect(stats.pids).toBeGreaterThanOrEqual(1);
    // sh as pid 1 ignores SIGTERM, so this is the SIGKILL after the grace period.
    const exit = await rt.stop(c.id, { graceMs: 100 });
    expect(exit.exitCode).toBe(137);
    await rt.remove(c.id);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  it("stops with the spec's signal and gives a trapping container its full grace before SIGKILL", async () => {
    const rt = await sb.open();
    const trapper = await rt.create({
      spec: {
        image: "busybox",
        command: ["/bin/sh", "-c", "trap 'echo got-term' TERM; echo ready; while true; do sleep 0.05; done"],
        stopGracePeriodMs: 1500,
      },
      owner,
    });
    const polite = await rt.create({
      spec: {
        image: "busybox",
        command: ["/bin/sh", "-c", "trap 'echo got-usr1; exit 0' USR1; while true; do sleep 0.05; done"],
        stopSignal: "SIGUSR1",
      },
      owner,
    });
    await rt.start(trapper.id);
    await rt.start(polite.id);
    await waitForLog(rt, trapper.id, "ready");
    const t0 = Date.now();
    const [hard, soft] = await Promise.all([rt.stop(trapper.id), rt.stop(polite.id)]);
    const tookMs = Date.now() - t0;
    expect(hard.exitCode).toBe(137);
    expect(tookMs).toBeGreaterThanOrEqual(1500);
    expect(soft.exitCode).toBe(0);
    expect((await collect(rt.logs(trapper.id))).map((l) => l.log)).toContain("got-term");
    expect((await collect(rt.logs(polite.id))).map((l) => l.log)).toContain("got-usr1");
    await rt.remove(trapper.id);
    await rt.remove(polite.id);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  it("reports an OOM kill with exit code 137", async () => {
    const rt = await sb.open();
    const c = await rt.create({
      spec: {
        image: "busybox",
        command: ["/bin/sh", "-c", "head -c 300000000 /dev/zero | tail"],
        resources: { limits: { memoryBytes: 16 * 1024 * 1024 } },
      },
      owner,
    });
    await rt.start(c.id);
    const exit = await rt.wait(c.id);
    expect(exit).toMatchObject({ oomKilled: true });
    expect(exit.exitCode).toBe(137);
    await rt.remove(c.id);
  });
});

describe("health checks and log rotation", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it("goes healthy, then unhealthy when the check starts failing, keeping the last outputs", async () => {
    const changes: string[] = [];
    const rt = await sb.open({ onHealthChange: (_id, report) => changes.push(report.status) });
    // The check looks at a file the test controls, so the transitions do not race the machine's load.
    const ctl = join(sb.dir, "health-ctl");
    await mkdir(ctl, { recursive: true });
    const c = await rt.create({
      spec: {
        image: "busybox",
        command: ["/bin/sh", "-c", "sleep 60"],
        mounts: [{ kind: "bind", source: ctl, target: "/ctl", readOnly: true }],
        healthcheck: {
          test: ["CMD-SHELL", "test -f /ctl/ok && echo fine || { echo missing; exit 1; }"],
          intervalMs: 100,
          timeoutMs: 5000,
          retries: 2,
          startPeriodMs: 60_000,
        },
      },
      owner,
    });
    await rt.start(c.id);
    // Failing inside the start period while starting does not count.
    await new Promise((r) => setTimeout(r, 400));
    expect((await rt.inspect(c.id)).health).toMatchObject({ status: "starting", failingStreak: 0 });
    await writeFile(join(ctl, "ok"), "");
    const healthy = await pollUntil(
      async () => (await rt.inspect(c.id)).health,
      (h) => h?.status === "healthy",
    );
    expect(healthy?.log.at(-1)).toMatchObject({ exitCode: 0, output: "fine\n" });
    await rm(join(ctl, "ok"));
    const unhealthy = await pollUntil(
      async () => (await rt.inspect(c.id)).health,
      (h) => h?.status === "unhealthy",
    );
    expect(unhealthy?.failingStreak).toBeGreaterThanOrEqual(2);
    expect(unhealthy?.log.at(-1)).toMatchObject({ exitCode: 1, output: "missing\n" });
    expect(changes).toEqual(["healthy", "unhealthy"]);
    // A restarted runtime carries on from the saved report instead of "starting" again.
    await rt.close();
    const next = await sb.open();
    expect((await next.inspect(c.id)).health?.status).toBe("unhealthy");
    await next.remove(c.id);
  });

  it("rotates logs by size, keeps at most maxFiles, and reads them in order with tail and since", async () => {
    const rt = await sb.open({ logSyncIntervalMs: 20 });
    const c = await rt.create({
      spec: {
        image: "busybox",
        command: [
          "/bin/sh",
          "-c",
          "i=0; while [ $i -lt 300 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); sleep 0.01; done",
        ],
      },
      owner,
      logs: { maxSizeBytes: 4096, maxFiles: 3 },
    });
    await rt.start(c.id);
    // A follower started with the container sees every line once, across all rotations.
    const followed = (await collect(rt.logs(c.id, { follow: true }))).map((e) => Number(e.log.split("-")[1]));
    expect(followed).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await rt.wait(c.id);
    const all = (await collect(rt.logs(c.id))).map((e) => Number(e.log.split("-")[1]));
    // Old generations were pruned, what is left is contiguous and ends with the last line.
    expect(all.at(-1)).toBe(299);
    expect(all[0]).toBeGreaterThan(0);
    expect(all).toEqual(all.map((_, i) => (all[0] as number) + i));
    const files = (await readdir(dirname(c.logPath))).filter((f) => f.startsWith("ctr.log."));
    expect(files.length).toBeLessThanOrEqual(3);
    const tail = (await collect(rt.logs(c.id, { tail: 5 }))).map((e) => e.log.split("-")[1]);
    expect(tail).toEqual(["295", "296", "297", "298", "299"]);
    const entries = await collect(rt.logs(c.id));
    const mid = entries[Math.floor(entries.length / 2)] as LogEntry;
    const since = await collect(rt.logs(c.id, { sinceMs: mid.timeMs }));
    expect(since.length).toBeLessThan(entries.length);
    expect(since.every((e) => e.timeMs >= mid.timeMs)).toBe(true);
    await rt.remove(c.id);
  });
});

describe("logs under a fast writer", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it("keeps the configured number of files and no line is lost inside them", async () => {
    const rt = await sb.open({ logSyncIntervalMs: 10 });
    const c = await rt.create({
      spec: { image: "busybox", command: ["/bin/seq", "1", "200000"] },
      owner,
      logs: { maxSizeBytes: 64 * 1024, maxFiles: 4 },
    });
    await rt.start(c.id);
    expect((await rt.wait(c.id)).exitCode).toBe(0);
    // maxFiles counts the live file; conmon may have exited before reopening it after the last
    // rotation, so exactly three rotated files, plus a live one if it exists.
    // A rotation may still be finishing (renamed, not yet pruned) when the exit is seen.
    const rotated = async () => (await readdir(dirname(c.logPath))).filter((f) => /^ctr\.log\.\d+$/.test(f));
    await pollUntil(rotated, (files) => files.length === 3);
    await new Promise((r) => setTimeout(r, 200));
    expect((await rotated()).length).toBe(3);
    const all = (await collect(rt.logs(c.id))).map((e) => Number(e.log));
    expect(all.at(-1)).toBe(200000);
    expect(all[0]).toBeGreaterThan(1);
    expect(all).toEqual(all.map((_, i) => (all[0] as number) + i));
    await rt.remove(c.id);
  });

  it("shows a last line without a newline, also in the tail of the dead container", async () => {
    const rt = await sb.open();
    const c = await rt.create({
      spec: { image: "busybox", command: ["/bin/printf", "first\\nlast-without-newline"] },
      owner,
    });
    await rt.start(c.id);
    await rt.wait(c.id);
    expect((await collect(rt.logs(c.id))).map((e) => e.log)).toEqual(["first", "last-without-newline"]);
    expect((await collect(rt.logs(c.id, { tail: 1 }))).map((e) => e.log)).toEqual(["last-without-newline"]);
    expect((await collect(rt.logs(c.id, { follow: true }))).map((e) => e.log)).toEqual([
      "first",
      "last-without-newline",
    ]);
    await rt.remove(c.id);
  });
});

async function pollUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitForLog(rt: ContainerRuntime, id: string, text: string): Promise<void> {
  const ac = new AbortController();
  for await (const e of rt.logs(id, { follow: true, signal: ac.signal })) {
    if (e.log === text) {
      ac.abort();
      return;
    }
  }
  throw new Error(`container "${id}" exited before logging "${text}"`);
}
