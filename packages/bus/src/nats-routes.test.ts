import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@shoal/base";
import { RootCa } from "@shoal/pki";
import { afterAll, describe, expect, it } from "vitest";
import { connectBus } from "./connect.js";
import type { HostPort } from "./nats-config.js";
import { NatsSupervisor, type NatsTlsMaterial } from "./nats-supervisor.js";
import { freePort } from "./test-support.js";

describe("NatsSupervisor routes follow membership", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it("a lone server joins a second manager's when its routes are updated", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-bus-routes-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const ca = await RootCa.create({ clusterId: "routes", nowMs: Date.now() });
    const material = async (nodeId: string): Promise<NatsTlsMaterial> => {
      const m = await ca.issueNodeMaterial({
        nodeId,
        role: "manager",
        hosts: ["127.0.0.1", "localhost"],
        nowMs: Date.now(),
      });
      return { caPem: m.rootCertPem, certPem: m.certPem, keyPem: m.keyPem };
    };
    const addr = async (): Promise<HostPort> => ({ host: "127.0.0.1", port: await freePort() });
    const [ca1, cl1, ca2, cl2] = [await addr(), await addr(), await addr(), await addr()];
    const nodes = [
      { nodeId: "m1", role: "manager" as const },
      { nodeId: "m2", role: "manager" as const },
    ];
    const common = { nodes, routeSecret: "rs", logger: silentLogger() };
    const a = await NatsSupervisor.open({
      ...common,
      dataDir: join(dir, "m1"),
      serverName: "m1",
      client: ca1,
      cluster: cl1,
      routes: [],
      tls: await material("m1"),
    });
    cleanup.push(() => a.close());
    const b = await NatsSupervisor.open({
      ...common,
      dataDir: join(dir, "m2"),
      serverName: "m2",
      client: ca2,
      cluster: cl2,
      routes: [cl1],
      tls: await material("m2"),
    });
    cleanup.push(() => b.close());
    await a.updateRoutes([cl1, cl2]);
    const onA = await connectBus({ servers: [a.url], nodeId: "m1", tls: await material("m1") });
    const onB = await connectBus({ servers: [b.url], nodeId: "m2", tls: await material("m2") });
    cleanup.push(async () => {
      await onA.close();
      await onB.close();
    });
    // Once routed, a message published on B reaches a subscriber on A.
    const sub = onA.subscribe("hello");
    await onA.flush();
    const got = (async () => {
      for await (const m of sub) return m.string();
      return undefined;
    })();
    for (let i = 0; i < 300; i++) {
      onB.publish("hello", "over the route");
      await new Promise((r) => setTimeout(r, 100));
      if ((await Promise.race([got, Promise.resolve(undefined)])) !== undefined) break;
    }
    expect(await got).toBe("over the route");
  });
});
