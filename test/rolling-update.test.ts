// Rolling updates end to end on 3 managers + 1 worker (real daemons in testkit hosts, real mTLS,
// real runc): a stack of a busybox httpd behind a health check with a host-mode published port,
// deployed and changed with `shoal stack deploy`: an update to a good image with start-first
// while a client polls the published port on every node (never a moment without a healthy
// replica); an update to an image whose health check fails, rolled back automatically with the
// CLI exiting non-zero and naming the failed task; `shoal service rollback` by hand; `kill -9` of
// the leader in the middle of an update, which completes under the new leader.

import { writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { buildBusyboxImage } from "@shoal/runtime/testing";
import { waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type TaskJson, type TestCluster, type TestDaemon } from "./support/cluster.js";

const PORT = 8080;
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const STACK = "roll";
const WEB = `${STACK}_web`;
const IDLE = `${STACK}_idle`;

/** An httpd image that serves `version` on `port` (the bad one listens where the check never looks). */
const httpdImage = (version: string, port = 80) =>
  buildBusyboxImage("one-layer", {
    Env: [PATH_ENV, `VERSION=${version}`],
    Cmd: [
      "sh",
      "-c",
      `mkdir -p /www && echo "$VERSION from $(hostname)" > /www/index.html && exec httpd -f -p ${port} -h /www`,
    ],
  });

let cluster: TestCluster | undefined;
const c = (): TestCluster => {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
};
const images: Record<"v1" | "v2" | "bad", string> = { v1: "", v2: "", bad: "" };

beforeAll(async () => {
  cluster = await startCluster({ managers: 3, workers: 1 });
  images.v1 = await cluster.pushImage("e2e/web:v1", await httpdImage("v1"));
  images.v2 = await cluster.pushImage("e2e/web:v2", await httpdImage("v2"));
  images.bad = await cluster.pushImage("e2e/web:bad", await httpdImage("bad", 81));
}, 600_000);

afterAll(async () => {
  await cluster?.destroy();
}, 300_000);

/** The stack file: the web service on `image`, and an idle service no deploy changes. */
function stackFile(image: string): string {
  return `version: "3.8"
services:
  web:
    image: ${image}
    ports:
      - target: 80
        published: ${PORT}
        mode: host
    healthcheck:
      test: ["CMD-SHELL", "echo | nc 127.0.0.1 80"]
      interval: 1s
      timeout: 2s
      retries: 2
    stop_grace_period: 2s
    deploy:
      replicas: 2
      update_config:
        parallelism: 1
        delay: 0s
        order: start-first
        failure_action: rollback
        monitor: 3s
      rollback_config:
        parallelism: 0
        order: start-first
        monitor: 2s
      restart_policy:
        condition: any
        delay: 1s
  idle:
    image: ${c().image}
    command: ["sleep", "1000000"]
    stop_grace_period: 1s
    deploy:
      replicas: 1
`;
}

async function deploy(image: string, on: TestDaemon = c().manager) {
  const file = join(c().work.path, "stack.yml");
  await writeFile(file, stackFile(image));
  return on.shoal(["stack", "deploy", "-c", file, STACK], { timeoutMs: 300_000 });
}

interface ServiceJson {
  id: string;
  meta?: { version?: number };
  spec?: { taskTemplate?: { container?: { image?: string; env?: string[] } } };
  previousSpec?: unknown;
  updateStatus?: { state?: string; message?: string };
}

async function inspect(name: string, on: TestDaemon = c().manager): Promise<ServiceJson> {
  const [s] = await on.shoalJson<ServiceJson[]>(["service", "inspect", name]);
  if (s === undefined) throw new Error(`no service ${name}`);
  return s;
}

interface TaskWithSpec extends TaskJson {
  spec?: { container?: { image?: string; env?: string[] } };
}

/** Waits until `service` runs `count` tasks, all of them with `image` (and `env` when given). */
async function waitForSpec(
  service: string,
  count: number,
  image: string,
  env?: string[],
): Promise<TaskJson[]> {
  const on = c().manager;
  await waitFor(
    async () => {
      const tasks = (await on.shoalJson<TaskWithSpec[]>(["service", "ps", service]).catch(() => [])).filter(
        (t) => t.desiredState === "TASK_STATE_RUNNING",
      );
      const ok = tasks.filter(
        (t) =>
          t.status?.state === "TASK_STATE_RUNNING" &&
          t.spec?.container?.image === image &&
          (env === undefined || JSON.stringify(t.spec.container.env ?? []) === JSON.stringify(env)),
      );
      return tasks.length === count && ok.length === count;
    },
    {
      description: `${count} tasks of ${service} running ${image} ${env?.join(" ") ?? ""}`,
      timeoutMs: 180_000,
    },
  );
  return c().waitForRunning(service, count);
}

/** One GET of the published port on `address`: the body, or undefined when it failed. */
function get(address: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: address, port: PORT, path: "/", timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(res.statusCode === 200 ? body : undefined));
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/**
 * A client of the published port, as a load balancer in front of the nodes sees it: rounds of
 * GETs to every node, each round recording the bodies of the nodes that answered.
 */
function pollPublishedPort(nodes: readonly TestDaemon[]) {
  const rounds: string[][] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const bodies = await Promise.all(nodes.map((n) => get(n.host.address)));
      rounds.push(bodies.filter((b): b is string => b !== undefined).map((b) => b.trim()));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    rounds,
    stop: async () => {
      stopped = true;
      await done;
      return rounds;
    },
  };
}

const taskIds = async (service: string) =>
  (await c().tasks(service))
    .filter((t) => t.desiredState === "TASK_STATE_RUNNING")
    .map((t) => t.id)
    .sort();

describe("rolling updates", () => {
  let idleTasks: string[] = [];
  let idleVersion = 0;

  it("stack deploy of the first version converges", async () => {
    const r = await deploy(images.v1);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    await waitForSpec(WEB, 2, images.v1);
    await c().waitForRunning(IDLE, 1);
    idleTasks = await taskIds(IDLE);
    idleVersion = (await inspect(IDLE)).meta?.version ?? 0;
  });

  it("a good image with start-first: completes, and the published port never stops answering", async () => {
    const client = pollPublishedPort(c().daemons);
    await waitFor(() => client.rounds.some((r) => r.length >= 2), {
      description: "the client to see both replicas",
      timeoutMs: 60_000,
    });
    const r = await deploy(images.v2);
    // A few rounds after the update said it converged, on the new image only.
    const settled = client.rounds.length;
    await waitFor(() => client.rounds.length >= settled + 5, { description: "five more rounds" });
    const rounds = await client.stop();
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain("verify: Service converged");
    // The progress display shows each slot's move from the old task to the new one.
    expect(r.stdout).toMatch(/1\/2: old \w+ +→ new running/);
    // Start-first: the new task is up (healthy) before the one it replaces stops, so every round
    // finds both replicas answering (and never none).
    const short = rounds.findIndex((round) => round.length < 2);
    expect(
      short,
      `round ${short} of ${rounds.length} found ${rounds[short]?.length} replicas answering: ${JSON.stringify(rounds.slice(Math.max(0, short - 3), short + 3))}`,
    ).toBe(-1);
    expect(rounds.flat().every((b) => /^v[12] from /.test(b))).toBe(true);
    expect(rounds.at(-1)?.every((b) => b.startsWith("v2 "))).toBe(true);
    expect(rounds.some((round) => round.some((b) => b.startsWith("v1 ")))).toBe(true);

    const web = await inspect(WEB);
    expect(web.updateStatus?.state).toBe("UPDATE_STATE_COMPLETED");
    await waitForSpec(WEB, 2, images.v2);
    // The service the deploy did not change was not touched.
    expect(await taskIds(IDLE)).toEqual(idleTasks);
    expect((await inspect(IDLE)).meta?.version).toBe(idleVersion);
  });

  it("an image whose health check fails: rolled back, the deploy exits non-zero naming the task", async () => {
    const r = await deploy(images.bad);
    const out = r.stdout + r.stderr;
    expect(r.code, out).not.toBe(0);
    expect(out).toMatch(/rolled back/);
    const web = await inspect(WEB);
    const failedTask = /task ([a-z0-9]+) \(/.exec(out)?.[1];
    expect(failedTask, out).toBeDefined();
    // The task the message names is one of the bad image's, and the reason is its health.
    const bad = (await c().tasks(WEB)).find((t) => t.id === failedTask) as TaskWithSpec | undefined;
    expect(bad?.spec?.container?.image).toBe(images.bad);
    expect(out).toMatch(/unhealthy|not healthy/);
    await waitFor(
      async () => (await inspect(WEB)).updateStatus?.state === "UPDATE_STATE_ROLLBACK_COMPLETED",
      {
        description: `${WEB}'s rollback to complete (was ${web.updateStatus?.state})`,
        timeoutMs: 120_000,
      },
    );
    expect((await inspect(WEB)).spec?.taskTemplate?.container?.image).toBe(images.v2);
    await waitForSpec(WEB, 2, images.v2);
    expect(await taskIds(IDLE)).toEqual(idleTasks);
  });

  it("service rollback by hand: the previous spec is back, converged", async () => {
    const m = c().manager;
    await m.shoalOk(["service", "update", "--env-add", "COLOR=blue", WEB], { timeoutMs: 300_000 });
    await waitForSpec(WEB, 2, images.v2, [`COLOR=blue`]);
    const r = await m.shoal(["service", "rollback", WEB], { timeoutMs: 300_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const web = await inspect(WEB);
    expect(web.spec?.taskTemplate?.container?.env ?? []).toEqual([]);
    expect(web.updateStatus?.state).toBe("UPDATE_STATE_ROLLBACK_COMPLETED");
    await waitForSpec(WEB, 2, images.v2, []);
  });

  it("kill -9 of the leader in the middle of an update: the update completes under the new leader", async () => {
    const lead = await leader(c().manager);
    const other = c().managers.find((m) => m !== lead) as TestDaemon;
    await lead.shoalOk([
      "service",
      "update",
      "--detach",
      "--env-add",
      "COLOR=green",
      "--update-delay",
      "3s",
      WEB,
    ]);
    // One slot on the new spec, the other not yet: the leader dies there.
    await waitFor(
      async () => {
        const tasks = (await c()
          .tasks(WEB, lead)
          .catch(() => [])) as TaskWithSpec[];
        return tasks.some(
          (t) =>
            t.status?.state === "TASK_STATE_RUNNING" &&
            (t.spec?.container?.env ?? []).includes("COLOR=green"),
        );
      },
      { description: "the first slot on the new spec", timeoutMs: 120_000 },
    );
    await lead.kill();
    const newLeader = await leader(other, lead);
    expect(newLeader).not.toBe(lead);
    await waitFor(
      async () =>
        (await inspect(WEB, other).catch(() => undefined))?.updateStatus?.state === "UPDATE_STATE_COMPLETED",
      { description: "the update to complete under the new leader", timeoutMs: 180_000 },
    );
    // The old leader comes back as a follower (the harness reads tasks through it).
    await lead.start();
    await waitFor(async () => (await lead.shoal(["node", "ls"])).code === 0, {
      description: "the old leader back",
      timeoutMs: 180_000,
    });
    await waitForSpec(WEB, 2, images.v2, ["COLOR=green"]);
  });

  it("tears down without leaving a process, mount, cgroup or namespace behind", async () => {
    const cl = c();
    cluster = undefined;
    await cl.destroy();
    expect(await cl.leftovers()).toEqual([]);
  });
});

interface NodeJson {
  id: string;
  managerStatus?: { leader?: boolean };
}

/** The leader as `via` sees it; with `not`, waits until that one is no longer reported leader. */
async function leader(via: TestDaemon, not?: TestDaemon): Promise<TestDaemon> {
  const id = await waitFor(
    async () => {
      const ns = await via.shoalJson<NodeJson[]>(["node", "ls"]).catch(() => undefined);
      const found = ns?.find((n) => n.managerStatus?.leader === true)?.id;
      return found !== undefined && found !== not?.nodeId ? found : undefined;
    },
    { description: not === undefined ? "a leader" : `a leader other than ${not.name}`, timeoutMs: 120_000 },
  );
  return c().byNodeId(id);
}
