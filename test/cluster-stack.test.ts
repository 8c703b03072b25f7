// Stacks end to end on 3 managers + 2 workers (real daemons in testkit hosts, real mTLS, real
// runc): three of the real-world stack files the stack package carries (test/fixtures/stacks/,
// images replaced by the test registry's busybox) deployed and converged, secrets only on the
// nodes whose tasks use them, a stack whose image does not exist rejected without disturbing the
// rest, a redeploy that touches only what changed, `--prune`, and `stack rm`; then `shoal image`
// on a node's store against the test registry.
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { ControlClient, type ListNetworksResponse } from "@shoal/proto";
import { waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type TaskJson, type TestCluster, type TestDaemon } from "./support/cluster.js";

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL("./fixtures/stacks/", import.meta.url));
const SERVICE_ANNOTATION = "com.shoal.service.name";
const STACK_LABEL = "com.docker.stack.namespace";

let cluster: TestCluster | undefined;
const c = (): TestCluster => {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
};

/** The external secrets atsea-shop names, with their contents. */
const EXTERNAL_SECRETS: Record<string, string> = {
  revprox_cert: "-----BEGIN CERTIFICATE-----\nnot really\n",
  revprox_key: "-----BEGIN PRIVATE KEY-----\nnot really\n",
  postgres_password: "gordonpass",
  staging_token: "tok-123",
};

beforeAll(async () => {
  cluster = await startCluster({ managers: 3, workers: 2 });
  // The fixtures name their image as ${SHOAL_E2E_IMAGE}; the CLI interpolates it from its env.
  process.env.SHOAL_E2E_IMAGE = cluster.image;
  for (const [name, data] of Object.entries(EXTERNAL_SECRETS)) {
    const file = join(cluster.work.path, `${name}.secret`);
    await writeFile(file, data);
    await cluster.manager.shoalOk(["secret", "create", name, file]);
  }
  // atsea's payment gateway runs only on a worker labelled for PCI DSS.
  const pci = cluster.workers[0] as TestDaemon;
  await cluster.manager.shoalOk(["node", "update", "--label-add", "pcidss=yes", pci.nodeId as string]);
}, 600_000);

afterAll(async () => {
  delete process.env.SHOAL_E2E_IMAGE;
  await cluster?.destroy();
}, 300_000);

interface ServiceJson {
  id: string;
  meta?: { version?: number | string };
  spec?: {
    name?: string;
    labels?: Record<string, string>;
    // The mode oneof, as proto JSON spells it: the case's name is the key.
    replicated?: { replicas?: number | string };
    global?: object;
    taskTemplate?: { container?: { secrets?: { secretName?: string }[] } };
  };
  status?: { desiredTasks?: number | string; runningTasks?: number | string } | null;
}

interface ObjectJson {
  id: string;
  spec?: { name?: string; labels?: Record<string, string> };
}

const desired = (tasks: TaskJson[]) => tasks.filter((t) => t.desiredState === "TASK_STATE_RUNNING");

async function services(on: TestDaemon = c().manager): Promise<ServiceJson[]> {
  return on.shoalJson<ServiceJson[]>(["service", "ls"]);
}

async function stackServices(stack: string): Promise<ServiceJson[]> {
  return c().manager.shoalJson<ServiceJson[]>(["stack", "services", stack]);
}

/** How many tasks each service of the stack should run: its replicas, or one per node (global). */
function expectedTasks(s: ServiceJson, nodes: number): number {
  if (s.spec?.global !== undefined) return nodes;
  return Number(s.spec?.replicated?.replicas ?? 1);
}

/** Waits for every service of `stack` to be n/n (`service ls`) and backed by running containers. */
async function waitForStack(stack: string, count: number): Promise<Map<string, TaskJson[]>> {
  const nodes = c().daemons.length;
  const list = await waitFor(
    async () => {
      const ss = await stackServices(stack);
      if (ss.length !== count) return undefined;
      const converged = ss.every((s) => {
        const want = expectedTasks(s, nodes);
        return Number(s.status?.desiredTasks) === want && Number(s.status?.runningTasks) === want;
      });
      return converged ? ss : undefined;
    },
    { description: `every service of stack "${stack}" n/n`, timeoutMs: 300_000, intervalMs: 1_000 },
  );
  const out = new Map<string, TaskJson[]>();
  for (const s of list) {
    const name = s.spec?.name as string;
    out.set(name, await c().waitForRunning(name, expectedTasks(s, nodes)));
  }
  return out;
}

/** Every service's running task ids and version, by name (what "nothing else changed" compares). */
async function snapshot(): Promise<Record<string, { version: string; tasks: string[] }>> {
  const out: Record<string, { version: string; tasks: string[] }> = {};
  for (const s of await services()) {
    const tasks = await c().tasks(s.id);
    out[s.spec?.name as string] = {
      version: String(s.meta?.version),
      tasks: desired(tasks)
        .map((t) => t.id)
        .sort(),
    };
  }
  return out;
}

/** The Control API's networks, through a daemon's admin socket (the CLI has no `network ls`). */
async function networks(on: TestDaemon = c().manager): Promise<ObjectJson[]> {
  const client = new ControlClient(`unix:${on.socketPath}`, grpc.credentials.createInsecure());
  try {
    const response = await new Promise<ListNetworksResponse>((resolve, reject) =>
      client.listNetworks(
        { filters: { names: [], namePrefixes: [], ids: [], idPrefixes: [], labels: {} } },
        (err, r) => (err === null ? resolve(r) : reject(err)),
      ),
    );
    return response.networks.map((n) => ({
      id: n.id,
      spec: { name: n.spec?.name ?? "", labels: { ...n.spec?.labels } },
    }));
  } finally {
    client.close();
  }
}

const names = (xs: ObjectJson[]) => xs.map((x) => x.spec?.name ?? "").sort();
const ofStack = (xs: ObjectJson[], stack: string) =>
  xs.filter((x) => x.spec?.labels?.[STACK_LABEL] === stack);

/**
 * The contents of the secret and config files a node holds: every file of the tmpfs each of its
 * containers gets (under its data dir; the runtime names the files by index and binds them at
 * their targets).
 */
async function nodeFiles(d: TestDaemon): Promise<string[]> {
  const mounts = await readFile("/proc/self/mountinfo", "utf8");
  const out: string[] = [];
  for (const line of mounts.split("\n")) {
    const mountPoint = line.split(" ")[4];
    const fs = line.split(" - ")[1]?.split(" ")[0];
    if (mountPoint === undefined || fs !== "tmpfs") continue;
    if (!mountPoint.startsWith(`${d.dataDir}/`) || !mountPoint.endsWith("/files")) continue;
    for (const f of await readdir(mountPoint, { recursive: true, withFileTypes: true })) {
      if (f.isFile()) out.push(await readFile(join(f.parentPath, f.name), "utf8"));
    }
  }
  return out;
}

/** `cat PATH` inside a running container of `d`. */
async function catIn(d: TestDaemon, containerId: string, path: string): Promise<string> {
  const { stdout } = await run("runc", ["--root", d.runcRoot, "exec", containerId, "cat", path]);
  return stdout;
}

function deploy(file: string, stack: string, ...flags: string[]): Promise<string> {
  return c().manager.shoalOk(["stack", "deploy", ...flags, "-c", file, stack], { timeoutMs: 400_000 });
}

describe("stacks on a cluster", () => {
  it("deploys voting-app, atsea-shop and prometheus: every service converges", async () => {
    await deploy(join(FIXTURES, "voting-app.yml"), "vote");
    await deploy(join(FIXTURES, "atsea-shop.yml"), "atsea");
    await deploy(join(FIXTURES, "prometheus.yml"), "prom");
    const vote = await waitForStack("vote", 6);
    expect(vote.get("vote_vote")).toHaveLength(2);
    const managers = new Set(c().managers.map((m) => m.nodeId));
    for (const s of ["vote_db", "vote_worker", "vote_visualizer"])
      expect(managers.has(vote.get(s)?.[0]?.nodeId)).toBe(true);
    const atsea = await waitForStack("atsea", 5);
    const pci = c().workers[0] as TestDaemon;
    expect(atsea.get("atsea_payment_gateway")?.map((t) => t.nodeId)).toEqual([pci.nodeId]);
    const workers = new Set(c().workers.map((w) => w.nodeId));
    for (const t of [...(atsea.get("atsea_appserver") ?? []), ...(atsea.get("atsea_database") ?? [])])
      expect(workers.has(t.nodeId)).toBe(true);
    const prom = await waitForStack("prom", 3);
    // Global services: exactly one task on each of the five nodes.
    for (const s of ["prom_node", "prom_cadvisor"]) {
      const nodes = (prom.get(s) ?? []).map((t) => t.nodeId).sort();
      expect(nodes).toEqual(
        c()
          .daemons.map((d) => d.nodeId as string)
          .sort(),
      );
    }
    // The config reaches prometheus's container at its target.
    const [p] = prom.get("prom_prometheus") ?? [];
    const pNode = c().byNodeId(p?.nodeId as string);
    const config = await readFile(join(FIXTURES, "prometheus/prometheus.yml"), "utf8");
    expect(await catIn(pNode, p?.id as string, "/etc/prometheus/prometheus.yml")).toBe(config);
    // The networks each stack declares, labelled with the stack.
    const nets = await networks();
    expect(names(ofStack(nets, "vote"))).toEqual(["vote_backend", "vote_default", "vote_frontend"]);
    expect(names(ofStack(nets, "atsea"))).toEqual([
      "atsea_back-tier",
      "atsea_default",
      "atsea_front-tier",
      "atsea_payment",
    ]);
  }, 900_000);

  it("a secret is on the nodes whose tasks use it, and only there", async () => {
    const atsea = await stackServices("atsea");
    // Secret name → the nodes that run a task using it.
    const users = new Map<string, Set<string>>();
    for (const s of atsea) {
      const tasks = desired(await c().tasks(s.id));
      for (const ref of s.spec?.taskTemplate?.container?.secrets ?? []) {
        const set = users.get(ref.secretName as string) ?? new Set<string>();
        for (const t of tasks) set.add(t.nodeId);
        users.set(ref.secretName as string, set);
      }
    }
    expect([...users.keys()].sort()).toEqual(Object.keys(EXTERNAL_SECRETS).sort());
    // Some node runs no task that uses a secret (managers run no worker-only task).
    const withSecret = new Set([...users.values()].flatMap((s) => [...s]));
    expect(withSecret.size).toBeLessThan(c().daemons.length);
    for (const d of c().daemons) {
      const files = new Set(await nodeFiles(d));
      const expected = [...users.entries()]
        .filter(([, nodes]) => nodes.has(d.nodeId as string))
        .map(([name]) => name)
        .sort();
      const held = Object.entries(EXTERNAL_SECRETS)
        .filter(([, data]) => files.has(data))
        .map(([name]) => name)
        .sort();
      expect(held, `secret files on ${d.name}`).toEqual(expected);
    }
    // Inside a container, at /run/secrets/<target>, with the secret's content.
    const db = (await stackServices("atsea")).find((s) => s.spec?.name === "atsea_database") as ServiceJson;
    const [task] = desired(await c().tasks(db.id));
    const node = c().byNodeId(task?.nodeId as string);
    expect(await catIn(node, task?.id as string, "/run/secrets/postgres_password")).toBe(
      EXTERNAL_SECRETS.postgres_password,
    );
    const [gw] = desired(await c().tasks("atsea_payment_gateway"));
    expect(
      await catIn(c().byNodeId(gw?.nodeId as string), gw?.id as string, "/run/secrets/payment_token"),
    ).toBe(EXTERNAL_SECRETS.staging_token);
  }, 300_000);

  it("a stack whose image does not exist: REJECTED with the registry's error, nothing else affected", async () => {
    const before = await snapshot();
    const file = join(c().work.path, "broken.yml");
    const missing = c().image.replace(/busybox:1$/, "no-such-image:1");
    await writeFile(
      file,
      [
        'version: "3.8"',
        "services:",
        "  app:",
        `    image: ${missing}`,
        "    deploy:",
        "      replicas: 2",
        "",
      ].join("\n"),
    );
    await deploy(file, "broken", "--detach");
    const rejected = await waitFor(
      async () => {
        const tasks = await c().tasks("broken_app");
        const bad = tasks.filter((t) => t.status?.state === "TASK_STATE_REJECTED");
        return bad.length > 0 ? bad : undefined;
      },
      { description: "a REJECTED task of broken_app", timeoutMs: 180_000 },
    );
    expect(rejected[0]?.status?.err).toMatch(/no-such-image/);
    // The registry's answer (it has no such manifest), in full with --no-trunc.
    const table = await c().manager.shoalOk(["service", "ps", "--no-trunc", "broken_app"]);
    expect(table).toMatch(/REJECTED|Rejected/);
    expect(table).toContain(`not found in registry "${c().registry.host}"`);
    expect(table).toContain(rejected[0]?.status?.err as string);
    // Everything else as it was: versions and task ids, and n/n.
    const after = await snapshot();
    delete after.broken_app;
    expect(after).toEqual(before);
    await c().manager.shoalOk(["stack", "rm", "broken"]);
    for (const s of ["vote", "atsea", "prom"]) await waitForStack(s, (await stackServices(s)).length);
  }, 600_000);

  it("a redeploy updates only the changed services; --prune removes the dropped ones; stack rm removes the stack's objects only", async () => {
    const original = await readFile(join(FIXTURES, "voting-app.yml"), "utf8");
    // v2: result gets an environment variable, the visualizer is gone.
    const v2 = original
      .replace(
        "    ports:\n      - 5001:80\n",
        '    environment:\n      OPTION_B: "Dogs"\n    ports:\n      - 5001:80\n',
      )
      .replace(/\n {2}visualizer:\n[\s\S]*?(?=\nnetworks:)/, "\n");
    expect(v2).toContain("OPTION_B");
    expect(v2).not.toContain("  visualizer:");
    const file = join(c().work.path, "voting-app-v2.yml");
    await writeFile(file, v2);
    const before = await snapshot();
    await deploy(file, "vote");
    await waitForStack("vote", 6);
    const after = await snapshot();
    expect(after.vote_result?.version).not.toBe(before.vote_result?.version);
    expect(after.vote_result?.tasks.filter((t) => before.vote_result?.tasks.includes(t))).toEqual([]);
    const unchanged = (x: typeof before) => {
      const { vote_result: _, ...rest } = x;
      return rest;
    };
    // Without --prune the visualizer stays, untouched like every other service.
    expect(unchanged(after)).toEqual(unchanged(before));
    await deploy(file, "vote", "--prune");
    const pruned = await waitForStack("vote", 5);
    expect([...pruned.keys()]).not.toContain("vote_visualizer");
    const afterPrune = await snapshot();
    expect(afterPrune.vote_visualizer).toBeUndefined();
    const { vote_visualizer: _, ...rest } = after;
    expect(afterPrune).toEqual(rest);
    // Its container stops (within the file's stop_grace_period).
    await waitFor(
      async () => {
        for (const d of c().daemons) {
          const left = (await d.containers()).filter(
            (x) => x.status === "running" && x.annotations?.[SERVICE_ANNOTATION] === "vote_visualizer",
          );
          if (left.length > 0) return undefined;
        }
        return true;
      },
      { description: "vote_visualizer's container stopped", timeoutMs: 180_000 },
    );

    // stack rm of each stack: its services, networks, secrets and configs go; nothing else does.
    const secretsBefore = await c().manager.shoalJson<ObjectJson[]>(["secret", "ls"]);
    const configsBefore = await c().manager.shoalJson<ObjectJson[]>(["config", "ls"]);
    expect(names(ofStack(configsBefore, "prom"))).toEqual(["prom_prometheus"]);
    const netsBefore = await networks();
    const servicesBefore = await services();
    let wantServices = names(servicesBefore as ObjectJson[]);
    let wantNets = names(netsBefore);
    for (const stack of ["vote", "atsea", "prom"]) {
      const gone = new Set([
        ...names(ofStack(servicesBefore as ObjectJson[], stack)),
        ...names(ofStack(netsBefore, stack)),
      ]);
      expect(gone.size).toBeGreaterThan(0);
      await c().manager.shoalOk(["stack", "rm", stack]);
      wantServices = wantServices.filter((n) => !gone.has(n));
      wantNets = wantNets.filter((n) => !gone.has(n));
      expect(names((await services()) as ObjectJson[])).toEqual(wantServices);
      expect(names(await networks())).toEqual(wantNets);
    }
    // The external secrets (made by the user, not the stack) stay; the stack's config is gone.
    expect(names(await c().manager.shoalJson<ObjectJson[]>(["secret", "ls"]))).toEqual(names(secretsBefore));
    expect(names(await c().manager.shoalJson<ObjectJson[]>(["config", "ls"]))).toEqual(
      names(configsBefore.filter((x) => x.spec?.labels?.[STACK_LABEL] !== "prom")),
    );
    expect(await services()).toEqual([]);
    // No stack container is left running on any node.
    await waitFor(
      async () => {
        for (const d of c().daemons) {
          const running = (await d.containers()).filter((x) => x.status === "running");
          if (running.length > 0) return undefined;
        }
        return true;
      },
      { description: "no container running after stack rm", timeoutMs: 180_000 },
    );
  }, 900_000);

  it("shoal image pull, ls, tag, push, rm on a node's store; unknown images and registries named", async () => {
    const [a, b] = c().workers as [TestDaemon, TestDaemon];
    const pushed = c().image.replace(/busybox:1$/, "pushed:2");
    const pull = await a.shoalJson<{ id: string; names: string[] }>(["image", "pull", c().image]);
    expect(pull.names).toContain(c().image);
    const ls = await a.shoalJson<{ id: string; names: string[] }[]>(["image", "ls"]);
    expect(ls.find((i) => i.id === pull.id)?.names).toContain(c().image);
    const table = await a.shoalOk(["image", "ls"]);
    expect(table.split("\n")[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(table).toContain(pull.id.replace("sha256:", "").slice(0, 12));
    expect((await a.shoalOk(["image", "ls", "-q"])).trim().split("\n")).toContain(
      pull.id.replace("sha256:", "").slice(0, 12),
    );
    await a.shoalOk(["image", "tag", c().image, pushed]);
    const push = await a.shoalJson<{ reference: string; digest: string }>(["image", "push", pushed]);
    expect(push.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Another node pulls what was pushed: the same image.
    const again = await b.shoalJson<{ id: string; manifestDigest: string }>(["image", "pull", pushed]);
    expect(again.id).toBe(pull.id);
    expect(again.manifestDigest).toBe(push.digest);
    // rm by name untags that name only; the image stays under its other name.
    const rm = await a.shoalJson<{ untagged: string[]; deleted: string[] }>(["image", "rm", pushed]);
    expect(rm).toEqual({ untagged: [pushed], deleted: [] });
    expect((await a.shoalJson<{ names: string[] }[]>(["image", "ls"])).flatMap((i) => i.names)).not.toContain(
      pushed,
    );
    // Errors, named, with stable codes and exit codes.
    const unknown = await a.shoal(["--debug", "image", "rm", "no-such/image:1"]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain("code: IMAGE_NOT_FOUND");
    const missing = await a.shoal(["--debug", "image", "pull", c().image.replace(/busybox:1$/, "nope:1")]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("code: IMAGE_NOT_FOUND_IN_REGISTRY");
    const unreachable = await a.shoal(["--debug", "image", "pull", "127.0.0.1:1/fixtures/busybox:1"]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain("code: IMAGE_REGISTRY_UNREACHABLE");
  }, 300_000);

  it("tears down without leaving a process, mount, cgroup or namespace behind", async () => {
    const current = c();
    cluster = undefined;
    await current.destroy();
    expect(await current.leftovers()).toEqual([]);
  }, 300_000);
});
