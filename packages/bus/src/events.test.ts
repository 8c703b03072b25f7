import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { ManualClock, seededRandom, silentLogger } from "@shoal/base";
import { Node, NodeState, Service, Task, TaskState } from "@shoal/proto";
import { Store } from "@shoal/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterEvent } from "./cluster-event.js";
import { EventPublisher, ensureEventStream, readEvents } from "./events.js";
import { startTestCluster, type TestCluster } from "./test-support.js";

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

async function all(nc: NatsConnection, q: Parameters<typeof readEvents>[1] = {}): Promise<ClusterEvent[]> {
  const out: ClusterEvent[] = [];
  for await (const e of readEvents({ js: jetstream(nc) }, q)) out.push(e);
  return out;
}

const brief = (e: ClusterEvent) =>
  `${e.type} ${e.action}${e.attributes.state ? ` ${e.attributes.state}` : ""}`;

describe("cluster events over JetStream", () => {
  let c: TestCluster;
  let nc: NatsConnection;
  beforeAll(async () => {
    c = await startTestCluster(3);
    nc = await c.connect("m1");
    await ensureEventStream(await jetstreamManager(nc), 3);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it("publishes service, task and node changes once each, in order, with two publishers and a server killed", async () => {
    const store = new Store({ clock: new ManualClock(1000), random: seededRandom(1) });
    const ac = new AbortController();
    // Two managers' publishers over different servers: dedup ids keep one copy of each event.
    const p1 = new EventPublisher({ js: jetstream(nc), store, logger: silentLogger() });
    const p2 = new EventPublisher({
      js: jetstream(await c.connect("m3", [c.urls[2] as string])),
      store,
      logger: silentLogger(),
    });
    const running = [p1.run(ac.signal), p2.run(ac.signal)];
    await store.update((tx) => {
      tx.nodes.create(
        Node.fromPartial({ id: "n1", spec: { name: "n1" }, status: { state: NodeState.READY } }),
      );
      tx.services.create(Service.fromPartial({ id: "s1", spec: { name: "web" } }));
    });
    await store.update((tx) =>
      tx.tasks.create(
        Task.fromPartial({
          id: "t1",
          serviceId: "s1",
          slot: 1,
          nodeId: "n1",
          status: { state: TaskState.NEW },
        }),
      ),
    );
    process.kill(c.servers[1]?.pid as number, "SIGKILL");
    for (const state of [TaskState.ASSIGNED, TaskState.RUNNING]) {
      await store.update((tx) => {
        const t = tx.tasks.get("t1") as Task;
        tx.tasks.update({ ...t, status: { ...(t.status as NonNullable<Task["status"]>), state } });
      });
    }
    await store.update((tx) => {
      const n = tx.nodes.get("n1") as Node;
      tx.nodes.update({
        ...n,
        status: { ...(n.status as NonNullable<Node["status"]>), state: NodeState.DOWN },
      });
    });
    await p1.leaderChanged("m1", 7);
    await p2.leaderChanged("m1", 7);
    const want = [
      "node create",
      "service create",
      "task create new",
      "task state assigned",
      "task state running",
      "node down down",
      "leader elected",
    ];
    const got = await eventually(async () => {
      const events = await all(nc);
      if (events.length < want.length) throw new Error(`only ${events.map(brief).join(", ")}`);
      return events;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await all(nc)).map(brief)).toEqual(want);
    expect((await all(nc, { type: "task" })).map(brief)).toEqual(want.filter((w) => w.startsWith("task")));
    expect((await all(nc, { nodeId: "n1", type: "node" })).length).toBe(2);
    const follow = new AbortController();
    const seen: ClusterEvent[] = [];
    const following = (async () => {
      for await (const e of readEvents(
        { js: jetstream(nc) },
        { sinceMs: Date.now(), follow: true, signal: follow.signal },
      ))
        seen.push(e);
    })();
    await new Promise((r) => setTimeout(r, 300));
    await store.update((tx) => tx.services.delete("s1"));
    await eventually(async () => {
      if (!seen.some((e) => brief(e) === "service remove")) throw new Error("remove not seen");
    });
    follow.abort();
    await following;
    expect(got.length).toBeGreaterThanOrEqual(want.length);
    ac.abort();
    await Promise.all(running);
  });
});
