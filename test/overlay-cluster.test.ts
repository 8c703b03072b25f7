// Overlay networks wired into the cluster, end to end on three real daemons in testkit hosts with
// real runc: a stack of three services on two networks — front reaches middle by `<service>` and
// `<stack>_<service>`, middle reaches back, front cannot reach back's network; `tasks.<service>`
// lists every task address; VIP connections spread over the replicas and skip one that fails its
// health check; scaling updates the backends; an ingress port answers on a node without a replica
// and the backend sees the client's own address; a daemon killed while attaching containers is
// reconciled on restart with nothing leaked; a killed host's tasks leave DNS and the VIP.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { type TestHost, waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  HTTPD_COMMAND,
  startCluster,
  type TaskJson,
  type TestCluster,
  type TestDaemon,
} from "./support/cluster.js";

const run = promisify(execFile);

let cluster: TestCluster | undefined;
let client: TestHost | undefined;
const c = (): TestCluster => {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
};

interface OverlayTaskJson extends TaskJson {
  networks?: { networkId?: string; addresses?: string[] }[];
}

const IDLE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"];
/** httpd whose /cgi-bin/ip answers the address the connection came from (REMOTE_ADDR). */
const IP_SERVER = [
  "sh",
  "-c",
  "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho \"$REMOTE_ADDR\"\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && exec httpd -f -p 80 -h /www",
];

function stackFile(image: string): string {
  const svc = (name: string, command: string[], extra: string[]) => [
    `  ${name}:`,
    `    image: ${image}`,
    // Compose interpolates `$`: a literal one is `$$`.
    `    command: ${JSON.stringify(command.map((a) => a.replaceAll("$", "$$$$")))}`,
    ...extra,
  ];
  return [
    'version: "3.8"',
    "services:",
    ...svc("front", IDLE, [
      "    networks: [frontnet]",
      "    deploy:",
      "      replicas: 1",
      "      placement: {constraints: [node.role == manager]}",
    ]),
    ...svc("middle", HTTPD_COMMAND, [
      "    networks: [frontnet, backnet]",
      "    healthcheck:",
      '      test: ["CMD-SHELL", "test ! -f /tmp/sick"]',
      // Generous for a loaded machine (a check that times out counts as a failure).
      "      interval: 1s",
      "      timeout: 10s",
      "      retries: 3",
      "    deploy:",
      "      replicas: 3",
    ]),
    ...svc("back", HTTPD_COMMAND, ["    networks: [backnet]", "    deploy:", "      replicas: 2"]),
    ...svc("edge", IP_SERVER, [
      '    ports: ["8080:80"]',
      "    deploy:",
      "      replicas: 1",
      "      placement: {constraints: [node.role == manager]}",
    ]),
    "networks:",
    "  frontnet: {}",
    "  backnet: {}",
    "",
  ].join("\n");
}

/** Runs `sh -c script` in the task's container on its node; never throws. */
async function sh(task: TaskJson, script: string): Promise<{ code: number; out: string }> {
  const d = c().byNodeId(task.nodeId);
  try {
    const { stdout, stderr } = await run(
      "runc",
      ["--root", d.runcRoot, "exec", task.id, "sh", "-c", script],
      {
        timeout: 30_000,
      },
    );
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

/** The IPv4 addresses a busybox nslookup answered (after the server's own lines). */
function answered(out: string): string[] {
  const i = out.indexOf("Name:");
  if (i < 0) return [];
  return [...out.slice(i).matchAll(/(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1] as string).sort();
}

const bare = (cidr: string) => cidr.split("/")[0] as string;

async function running(service: string, count: number): Promise<OverlayTaskJson[]> {
  return (await c().waitForRunning(`app_${service}`, count, 300_000)) as OverlayTaskJson[];
}

/** A task's address on the network `networkId`. */
function addressOn(task: OverlayTaskJson, networkId: string): string {
  return bare(task.networks?.find((n) => n.networkId === networkId)?.addresses?.[0] ?? "");
}

/** The id of the (only) network front is on: app_frontnet. */
async function frontnet(): Promise<string> {
  const [front] = await running("front", 1);
  return (front as OverlayTaskJson).networks?.[0]?.networkId ?? "";
}

/** Hostnames answering `count` requests to `url` from the task. */
async function hostnames(from: TaskJson, url: string, count: number): Promise<string[]> {
  const r = await sh(
    from,
    `for i in $(seq ${count}); do timeout 3 wget -q -O - ${url} 2>/dev/null || echo FAILED; done`,
  );
  return r.out
    .split("\n")
    .map((l) => l.replace(/^hello from /, "").trim())
    .filter((l) => l !== "");
}

/** Our overlay links in a node's host namespace: bridges, VXLAN devices, veths. */
async function overlayLinks(d: TestDaemon): Promise<{ bridges: number; vxlans: number; veths: string[] }> {
  const r = await d.host.exec("ip", ["-o", "link", "show"]);
  const names = [...r.stdout.matchAll(/^\d+: (sv[bxe][0-9a-f]{10})[@:]/gm)].map((m) => m[1] as string);
  return {
    bridges: names.filter((n) => n.startsWith("svb")).length,
    vxlans: names.filter((n) => n.startsWith("svx")).length,
    veths: names.filter((n) => n.startsWith("sve")),
  };
}

beforeAll(async () => {
  // A 2 s heartbeat: a loaded machine must not mark a live node down (6 s) in the middle of a case.
  cluster = await startCluster({ managers: 1, workers: 2, heartbeatMs: 2_000 });
  client = await cluster.hosts.add();
  const file = join(cluster.work.path, "app.yml");
  await writeFile(file, stackFile(cluster.image));
  await cluster.manager.shoalOk(["stack", "deploy", "-c", file, "app"], { timeoutMs: 400_000 });
}, 900_000);

afterAll(async () => {
  const cl = cluster;
  if (cl === undefined) return;
  await cl.destroy();
  expect(await cl.leftovers()).toEqual([]);
}, 300_000);

describe("overlay networks in a cluster", () => {
  it("front reaches middle by <service> and <stack>_<service>, middle reaches back, front not back", async () => {
    const [front] = await running("front", 1);
    const middles = await running("middle", 3);
    const backs = await running("back", 2);
    const f = front as OverlayTaskJson;
    const names = new Set(middles.map((t) => t.id.slice(0, 12)));
    for (const url of ["http://middle/", "http://app_middle/"]) {
      const seen = await waitFor(
        async () => {
          const got = await hostnames(f, url, 3);
          return got.length === 3 && got.every((h) => h !== "FAILED") ? got : undefined;
        },
        { description: `front reaching ${url}`, timeoutMs: 60_000, intervalMs: 1_000 },
      );
      expect(seen.length).toBe(3);
    }
    expect(names.size).toBe(3);
    const m = middles[0] as OverlayTaskJson;
    const fromMiddle = await waitFor(
      async () => {
        const got = await hostnames(m, "http://back/", 2);
        return got.every((h) => h !== "FAILED") ? got : undefined;
      },
      { description: "middle reaching back", timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(fromMiddle).toHaveLength(2);
    // front is not on backnet: the name is not ours there and back's addresses are unreachable.
    const lookup = await sh(f, "nslookup back");
    expect(answered(lookup.out)).toEqual([]);
    const back = backs[0] as OverlayTaskJson;
    const backIp = addressOn(back, back.networks?.[0]?.networkId ?? "");
    expect(backIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const direct = await sh(f, `timeout 3 wget -q -O - http://${backIp}/`);
    expect(direct.code).not.toBe(0);
  }, 600_000);

  it("tasks.<service> lists every task address; the interface MTU leaves room for VXLAN", async () => {
    const [front] = await running("front", 1);
    const middles = await running("middle", 3);
    const net = await frontnet();
    const want = middles.map((t) => addressOn(t, net)).sort();
    const got = await waitFor(
      async () => {
        const ips = answered((await sh(front as TaskJson, "nslookup tasks.middle")).out);
        return ips.length === 3 ? ips : undefined;
      },
      { description: "tasks.middle with 3 addresses", timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(got).toEqual(want);
    const link = await sh(front as TaskJson, "ip -o link show eth1");
    expect(link.out).toMatch(/mtu 1450/);
  }, 300_000);

  it("VIP connections spread over the replicas and skip one whose health check fails", async () => {
    const [front] = await running("front", 1);
    const middles = await running("middle", 3);
    const names = middles.map((t) => t.id.slice(0, 12));
    const spread = await waitFor(
      async () => {
        const seen = new Set(await hostnames(front as TaskJson, "http://middle/", 30));
        return names.every((n) => [...seen].some((h) => h.startsWith(n) || n.startsWith(h)))
          ? seen
          : undefined;
      },
      { description: "VIP answers from all 3 replicas", timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(spread.has("FAILED")).toBe(false);
    const sick = middles[0] as OverlayTaskJson;
    const sickName = (await sh(sick, "hostname")).out.trim();
    await sh(sick, "touch /tmp/sick");
    await waitFor(
      async () => {
        const got = await hostnames(front as TaskJson, "http://middle/", 20);
        return got.length === 20 && got.every((h) => h !== "FAILED" && h !== sickName) ? got : undefined;
      },
      { description: "no connection to the unhealthy replica", timeoutMs: 60_000, intervalMs: 1_000 },
    );
  }, 300_000);

  it("scaling up and down updates the backends and tasks.<service>", async () => {
    const m = c().manager;
    const [front] = await running("front", 1);
    const net = await frontnet();
    for (const n of [5, 2]) {
      await m.shoalOk(["service", "scale", `app_middle=${n}`], { timeoutMs: 400_000 });
      const tasks = await running("middle", n);
      const want = tasks.map((t) => addressOn(t, net)).sort();
      const got = await waitFor(
        async () => {
          const ips = answered((await sh(front as TaskJson, "nslookup tasks.middle")).out);
          return JSON.stringify(ips) === JSON.stringify(want) ? ips : undefined;
        },
        { description: `tasks.middle with the ${n} task addresses`, timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(got).toEqual(want);
      const seen = await waitFor(
        async () => {
          const s = new Set(await hostnames(front as TaskJson, "http://middle/", 10 * n));
          return s.size === n && !s.has("FAILED") ? s : undefined;
        },
        { description: `VIP spread over ${n} replicas`, timeoutMs: 60_000, intervalMs: 1_000 },
      );
      expect(seen.size).toBe(n);
    }
  }, 900_000);

  it("an ingress port answers on a node without a replica; the backend sees the client's address", async () => {
    const [edge] = await running("edge", 1);
    const noReplica = c().daemons.find((d) => d.nodeId !== undefined && d.nodeId !== edge?.nodeId);
    if (noReplica === undefined || client === undefined) throw new Error("no node without the replica");
    const url = `http://${noReplica.host.address}:8080/cgi-bin/ip`;
    const seen = await waitFor(
      async () => {
        // busybox wget (node's fetch refuses the header bytes busybox's CGI handler sends).
        const r = await client?.exec("timeout", ["5", "busybox", "wget", "-q", "-O", "-", url]);
        if (r === undefined || r.code !== 0 || r.stdout.trim() === "")
          throw new Error(`exit ${r?.code}: ${r?.stderr.trim()} ${r?.stdout.trim()}`);
        return r.stdout.trim();
      },
      { description: `ingress port 8080 on ${noReplica.name}`, timeoutMs: 180_000, intervalMs: 1_000 },
    );
    // busybox httpd writes an IPv4 peer as "[::ffff:a.b.c.d]".
    expect(seen.replace(/^\[::ffff:|\]$/g, "")).toBe(client.address);
  }, 300_000);

  it("kill -9 of a daemon while it attaches containers: restart reconciles, nothing leaked, connectivity back", async () => {
    const m = c().manager;
    const before = new Map<TestDaemon, number>();
    for (const w of c().workers) before.set(w, (await w.containers()).length);
    const current = (await c().tasks("app_middle")).filter((t) => t.desiredState === "TASK_STATE_RUNNING");
    const target = current.length + 4;
    const scaled = m.shoal(["service", "scale", "--detach", `app_middle=${target}`], { timeoutMs: 400_000 });
    // The first worker to make a new container is killed at once (its overlay interfaces being made).
    const worker = await waitFor(
      async () => {
        for (const [w, n] of before) if ((await w.containers()).length > n) return w;
        return undefined;
      },
      { description: "a new container on a worker", timeoutMs: 120_000, intervalMs: 50 },
    );
    await worker.kill();
    await scaled;
    await worker.start();
    const tasks = await running("middle", target);
    const [front] = await running("front", 1);
    const net = await frontnet();
    // Every middle task answers on its own address from front, the restarted node's too.
    for (const t of tasks) {
      const ip = addressOn(t, net);
      await waitFor(
        async () => (await sh(front as TaskJson, `timeout 3 wget -q -O - http://${ip}/`)).code === 0,
        {
          description: `front reaching ${ip} (${t.nodeId === worker.nodeId ? "restarted node" : "other node"})`,
          timeoutMs: 90_000,
          intervalMs: 1_000,
        },
      );
    }
    // The node holds exactly what its running containers need: one veth per container and
    // network (the other services' containers on this node count too), one bridge and one VXLAN
    // device per network in use; no endpoint is left for a container that is not running.
    const mine = tasks.filter((t) => t.nodeId === worker.nodeId);
    let seen: Record<string, unknown> | undefined;
    const links = await waitFor(
      async () => {
        const l = await overlayLinks(worker);
        const containers = await worker.containers();
        const running = new Set(containers.filter((x) => x.status === "running").map((x) => x.id));
        const endpoints = JSON.parse(
          await readFile(join(worker.dataDir, "overlay-endpoints.json"), "utf8"),
        ) as { taskId: string; networks: unknown[] }[];
        seen = { links: l, containers: containers.map((x) => `${x.id}:${x.status}`), endpoints };
        const attachments = endpoints.reduce((n, e) => n + e.networks.length, 0);
        const settled =
          endpoints.every((e) => running.has(e.taskId)) &&
          l.veths.length === attachments &&
          mine.every((t) => endpoints.some((e) => e.taskId === t.id && e.networks.length === 2));
        return settled ? l : undefined;
      },
      {
        description: `one overlay veth per running container and network on ${worker.name}`,
        timeoutMs: 60_000,
        intervalMs: 1_000,
      },
    ).catch((err: unknown) => {
      // What the node held at the end: a leaked link or endpoint, or one missing.
      throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(seen)}`);
    });
    expect(links.bridges).toBe(links.vxlans);
    expect(links.bridges).toBeLessThanOrEqual(3);
  }, 900_000);

  it("a killed host's tasks leave DNS and the VIP's backends", async () => {
    const [front] = await running("front", 1);
    const tasks = (await c().tasks("app_middle")).filter(
      (t) => t.desiredState === "TASK_STATE_RUNNING" && t.status?.state === "TASK_STATE_RUNNING",
    ) as OverlayTaskJson[];
    const victim = c().workers.find((d) => tasks.some((t) => t.nodeId === d.nodeId)) as TestDaemon;
    const net = await frontnet();
    expect(tasks.some((t) => t.nodeId === victim.nodeId)).toBe(true);
    await victim.killWithContainers();
    // The victim's tasks are replaced elsewhere (an ended task's address may be given again):
    // DNS answers exactly the addresses of the running tasks on the nodes that are up.
    const ips = await waitFor(
      async () => {
        const live = (await c().tasks("app_middle")).filter(
          (t) =>
            t.desiredState === "TASK_STATE_RUNNING" &&
            t.status?.state === "TASK_STATE_RUNNING" &&
            t.nodeId !== victim.nodeId,
        ) as OverlayTaskJson[];
        const want = live.map((t) => addressOn(t, net)).sort();
        const got = answered((await sh(front as TaskJson, "nslookup tasks.middle")).out);
        return got.length > 0 && JSON.stringify(got) === JSON.stringify(want) ? got : undefined;
      },
      { description: `tasks.middle without ${victim.name}'s tasks`, timeoutMs: 180_000, intervalMs: 2_000 },
    );
    expect(ips.length).toBeGreaterThan(0);
    const answers = await hostnames(front as TaskJson, "http://middle/", 20);
    expect(answers.filter((h) => h === "FAILED")).toEqual([]);
  }, 600_000);
});
