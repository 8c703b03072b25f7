import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, type TestCluster } from "./test-support.js";

describe("NatsSupervisor (3 real nats-servers on loopback)", () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3, ["w1", "w2"]);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it("forms a JetStream cluster that stores a replicated stream", async () => {
    const nc = await c.connect("m1");
    const jsm = await jetstreamManager(nc);
    // The meta leader is elected a moment after the routes connect.
    await eventually(() => jsm.streams.add({ name: "T", subjects: ["t.>"], num_replicas: 3 }));
    const ack = await jetstream(nc).publish("t.one", "hello");
    expect(ack.seq).toBe(1);
    const info = await jsm.streams.info("T");
    expect(info.cluster?.replicas?.length).toBe(2);
  });

  it("refuses a worker publishing under another node's subjects, allows its own", async () => {
    const nc = await c.connect("w1");
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "error") errors.push(String(s.error));
    })();
    nc.publish("shoal.logs.w2.svc.task", "forged");
    nc.publish("shoal.logs.w1.svc.task", "mine");
    await nc.flush();
    await eventually(async () => {
      if (!errors.some((e) => /permissions violation/i.test(e) && e.includes("shoal.logs.w2")))
        throw new Error(`no permission error yet: ${errors.join("; ")}`);
    });
    expect(errors.some((e) => e.includes("shoal.logs.w1"))).toBe(false);
  });

  it("restarts a killed server and the cluster keeps serving meanwhile", async () => {
    const victim = c.servers[0];
    if (victim === undefined) throw new Error("no server");
    const nc = await c.connect("m2", [c.urls[1] as string]);
    const js = jetstream(nc);
    const pid = victim.pid as number;
    process.kill(pid, "SIGKILL");
    // Published while m1 is down: the other two still make a quorum.
    const ack = await eventually(() => js.publish("t.two", "while down"));
    expect(ack.seq).toBeGreaterThan(1);
    await eventually(async () => {
      if (victim.pid === undefined || victim.pid === pid || victim.restartCount < 1)
        throw new Error("not restarted");
    });
    const back = await eventually(() => c.connect("m1", [c.urls[0] as string]));
    const info = await eventually(() => jetstreamManager(back).then((m) => m.streams.info("T")));
    expect(info.state.messages).toBeGreaterThanOrEqual(2);
  });
});

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
