// `shoal network create | ls | inspect | rm` against a real one-node cluster (a daemon in a test
// host, through its admin socket, the built CLI as a user runs it): the flags reach the stored
// network, ls prints docker's columns, a service attaches by name, and rm refuses a network in use
// with exit code 5 and an error naming the service, changing nothing.
import { waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type TestCluster } from "./support/cluster.js";

let cluster: TestCluster | undefined;
const c = (): TestCluster => {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
};

interface NetworkJson {
  id: string;
  spec?: { name?: string; labels?: Record<string, string>; internal?: boolean; attachable?: boolean };
  driverState?: { name?: string };
  ipam?: { configs?: { subnet?: string; gateway?: string }[] };
}

beforeAll(async () => {
  cluster = await startCluster({ managers: 1, workers: 0 });
}, 300_000);

afterAll(async () => {
  const cl = cluster;
  if (cl === undefined) return;
  await cl.destroy();
  expect(await cl.leftovers()).toEqual([]);
}, 300_000);

describe("shoal network", () => {
  it("create with flags, ls, inspect; rm refuses a network in use, then removes it", async () => {
    const m = c().manager;
    const id = (
      await m.shoalOk([
        "network",
        "create",
        "--driver",
        "overlay",
        "--subnet",
        "10.0.42.0/24",
        "--attachable",
        "--internal",
        "--label",
        "team=web",
        "backnet",
      ])
    ).trim();
    expect(id).toMatch(/^\S{12,}$/);
    const auto = (await m.shoalOk(["network", "create", "frontnet"])).trim();
    // Every cluster has the routing mesh's network from its start.
    const [ingress] = await m.shoalJson<NetworkJson[]>(["network", "inspect", "ingress"]);
    const ingressId = ingress?.id ?? "";

    const table = (await m.shoalOk(["network", "ls"])).trimEnd().split("\n");
    expect(table[0]).toMatch(/^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
    expect(table.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^${id.slice(0, 12)}\\s+backnet\\s+overlay\\s+swarm$`)),
      expect.stringMatching(new RegExp(`^${auto.slice(0, 12)}\\s+frontnet\\s+overlay\\s+swarm$`)),
      expect.stringMatching(new RegExp(`^${ingressId.slice(0, 12)}\\s+ingress\\s+overlay\\s+swarm$`)),
    ]);
    expect((await m.shoalOk(["network", "ls", "-q"])).trim().split("\n")).toEqual([id, auto, ingressId]);

    const [inspected] = await m.shoalJson<NetworkJson[]>(["network", "inspect", "backnet"]);
    expect(inspected).toMatchObject({
      id,
      spec: { name: "backnet", labels: { team: "web" }, internal: true, attachable: true },
      driverState: { name: "overlay" },
      ipam: { configs: [{ subnet: "10.0.42.0/24", gateway: "10.0.42.1" }] },
    });
    const [other] = await m.shoalJson<NetworkJson[]>(["network", "inspect", auto.slice(0, 8)]);
    expect(other?.ipam?.configs?.[0]?.subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);

    // A second network on the same subnet is refused by the manager, and nothing is created.
    const overlap = await m.shoal(["network", "create", "--subnet", "10.0.42.0/24", "again"]);
    expect(overlap.code).toBe(6);
    expect(overlap.stderr).toContain(
      'error: network "again": subnet 10.0.42.0/24 overlaps subnet 10.0.42.0/24',
    );

    await m.shoalOk([
      "service",
      "create",
      "--detach",
      "--name",
      "web",
      "--network",
      "backnet",
      c().image,
      "sleep",
      "1000000",
    ]);
    const refused = await m.shoal(["network", "rm", "backnet"]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('error: network "backnet" is in use by service "web"');
    expect(refused.stderr).toContain("hint: remove the network from that service first");
    expect((await m.shoalOk(["network", "ls", "-q"])).trim().split("\n")).toEqual([id, auto, ingressId]);

    await m.shoalOk(["service", "rm", "web"]);
    // Until the removed service's task has ended, the store still refuses (naming the task).
    await waitFor(
      async () => {
        const r = await m.shoal(["network", "rm", "backnet"]);
        if (r.code !== 0 && !/is in use by task "/.test(r.stderr))
          throw new Error(`exit ${r.code}: ${r.stderr}`);
        return r.code === 0 ? r.stdout : undefined;
      },
      { description: "network rm backnet once web's task ended", timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect((await m.shoalOk(["network", "rm", "frontnet"])).trim()).toBe("frontnet");
    expect((await m.shoalOk(["network", "ls", "-q"])).trim()).toBe(ingressId);
    const gone = await m.shoal(["network", "inspect", "backnet"]);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('network "backnet"');
  }, 300_000);
});
