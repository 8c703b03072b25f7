import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerRuntime } from "./runtime.js";
import { makeSandbox, type Sandbox } from "./test-support.js";

const COUNT = 50;

describe("many containers at once", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it(`runs ${COUNT} containers with memory and CPU limits, each seeing its limits in its cgroup files`, async () => {
    const rt = await sb.open();
    const ids: string[] = [];
    const script =
      "echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); echo done; sleep 120";
    for (let batch = 0; batch < COUNT; batch += 10) {
      const made = await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const i = batch + k;
          const c = await rt.create({
            spec: {
              image: "busybox",
              command: ["/bin/sh", "-c", script],
              resources: {
                limits: { memoryBytes: (20 + i) * 1024 * 1024, nanoCpus: 100_000_000 + i * 10_000_000 },
              },
            },
            owner: { taskId: `t${i}`, serviceId: "s", slot: i },
          });
          await rt.start(c.id);
          return c.id;
        }),
      );
      ids.push(...made);
    }
    const running = (await rt.list()).filter((c) => c.state === "running");
    expect(running).toHaveLength(COUNT);
    for (const [i, id] of ids.entries()) {
      const lines = await readUntilDone(rt, id);
      expect(lines, `container ${i} (${id})`).toEqual([
        `mem=${(20 + i) * 1024 * 1024}`,
        `quota=${10_000 + i * 1000}`,
      ]);
    }
    await Promise.all(ids.map((id) => rt.remove(id)));
    expect(await rt.list()).toEqual([]);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  }, 120_000);
});

async function readUntilDone(rt: ContainerRuntime, id: string): Promise<string[]> {
  const ac = new AbortController();
  const out: string[] = [];
  const timer = setTimeout(() => ac.abort(), 20_000);
  try {
    for await (const e of rt.logs(id, { follow: true, signal: ac.signal })) {
      if (e.log === "done") return out;
      out.push(e.log);
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  throw new Error(`container "${id}" never logged "done"; got ${JSON.stringify(out)}`);
}
