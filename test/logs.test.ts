// Logs and events end to end (issue 19): three managers (each running a nats-server, clustered)
// and two workers in testkit hosts, services of busybox tasks on real runc writing numbered lines.
// Each node's agent ships its containers' logs to the managers' JetStream; the CLI reads them
// through a manager daemon. One cluster for the whole file; the cases run in order and build on
// each other (the last one stops a worker for good).
import { execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { connectBus } from "@shoal/bus";
import { readTls } from "@shoal/manager";
import { waitFor } from "@shoal/testkit";
import parsePrometheusTextFormat, { type Family } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUILT_CLI,
  CLUSTER_PORT,
  startCluster,
  type TestCluster,
  type TestDaemon,
} from "./support/cluster.js";

let cluster: TestCluster | undefined;

beforeAll(async () => {
  // 10 s heartbeats: a restarted worker keeps its tasks (a node is down after 3 missed), also on
  // a loaded machine where the restart takes a while.
  cluster = await startCluster({ managers: 3, workers: 2, heartbeatMs: 10_000, metrics: true });
}, 600_000);

afterAll(async () => {
  await cluster?.destroy();
}, 300_000);

const c = (): TestCluster => {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
};

/** 20 lines at once, then one every 2 s: `n1`, `n2`, … */
const NUMBERED = [
  "sh",
  "-c",
  "i=1; while [ $i -le 20 ]; do echo n$i; i=$((i+1)); done; while true; do sleep 2; echo n$i; i=$((i+1)); done",
];

/** `b1` … `b60000` as fast as the shell goes, pausing 1 s every 1,500 lines (about a minute). */
const BURST_LINES = 60_000;
const BURST = [
  "sh",
  "-c",
  `n=1; while [ $n -le ${BURST_LINES} ]; do echo b$n; [ $((n % 1500)) -eq 0 ] && sleep 1; n=$((n+1)); done; while true; do sleep 3600; done`,
];

/** task id (12 chars) → the numbers of its `n<k>` lines, in the order printed. */
function numbersByTask(stdout: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of stdout.split("\n")) {
    const m = /^nums\.\d+\.(\w+)@\S+\s+\| n(\d+)$/.exec(line);
    if (m === null) continue;
    const list = out.get(m[1] as string) ?? [];
    list.push(Number(m[2]));
    out.set(m[1] as string, list);
  }
  return out;
}

const oneToN = (numbers: readonly number[]) => numbers.map((_, i) => i + 1);

/** One line of `shoal events`: `TIME TYPE ACTION ID (k=v, …)`. */
interface EventLine {
  type: string;
  action: string;
  id: string;
  attrs: Record<string, string>;
}

function parseEvents(stdout: string): EventLine[] {
  const out: EventLine[] = [];
  for (const line of stdout.split("\n")) {
    const m = /^\S+ (\w+) ([\w-]+) (\S+)(?: \((.*)\))?$/.exec(line);
    if (m === null) continue;
    const attrs: Record<string, string> = {};
    for (const kv of (m[4] ?? "").split(", ")) {
      const eq = kv.indexOf("=");
      if (eq > 0) attrs[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    out.push({ type: m[1] as string, action: m[2] as string, id: m[3] as string, attrs });
  }
  return out;
}

/** `shoal service logs …` that must succeed. */
async function logs(on: TestDaemon, args: readonly string[]): Promise<string> {
  const r = await on.shoal(["service", "logs", ...args]);
  if (r.code !== 0)
    throw new Error(`service logs ${args.join(" ")} on ${on.name} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * The built `shoal` as a remote user runs it: `--host` at a manager's cluster port (mTLS), with
 * the certificate of node `as` (its data dir's certs), not the admin socket.
 */
async function remote(as: TestDaemon, host: TestDaemon, args: readonly string[]) {
  const certs = join(as.dataDir, "certs");
  const tls = ["--tlscacert", join(certs, "root.crt"), "--tlscert", join(certs, "node.crt")];
  try {
    const { stdout } = await promisify(execFile)(
      "node",
      [BUILT_CLI, "--host", host.address, ...tls, "--tlskey", join(certs, "node.key"), ...args],
      {
        env: { ...process.env, SHOAL_SOCKET: "/nonexistent", SHOAL_HOST: "" },
        timeout: 120_000,
        maxBuffer: 1 << 24,
      },
    );
    return { code: 0, stdout, stderr: "" };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}

/** The pid of the nats-server a manager daemon supervises (from its pid file). */
async function natsPid(d: TestDaemon): Promise<number> {
  return Number((await readFile(join(d.dataDir, "nats", "nats-server.pid"), "utf8")).trim());
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A daemon's `/metrics`, parsed by a Prometheus text-format parser. */
async function scrape(d: TestDaemon): Promise<Family[]> {
  const res = await fetch(d.metricsUrl as string);
  if (res.status !== 200) throw new Error(`GET ${d.metricsUrl} answered ${res.status}`);
  return parsePrometheusTextFormat(await res.text());
}

/** The sum of a family's samples whose labels include `labels` (a histogram's count). */
function figure(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const f = families.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no metric ${name} in: ${families.map((x) => x.name).join(", ")}`);
  return f.metrics
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.count ?? m.value ?? 0), 0);
}

/** Metrics of every daemon before the first service, for the metrics case. */
let metricsBefore = new Map<string, Family[]>();

/** The original tasks of `nums` (id → node), set by the first case. */
let numsTasks: { id: string; nodeId: string }[] = [];
let numsServiceId = "";

describe("shoal service logs", () => {
  it("shows every task's numbered lines in order across two workers, and -f sees a new one", async () => {
    const m = c().manager;
    metricsBefore = new Map(
      await Promise.all(c().daemons.map(async (d) => [d.name, await scrape(d)] as const)),
    );
    await m.shoalOk([
      "service",
      "create",
      "--detach",
      "--name",
      "nums",
      "--replicas",
      "3",
      "--constraint",
      "node.role==worker",
      c().image,
      ...NUMBERED,
    ]);
    const tasks = await c().waitForRunning("nums", 3);
    numsTasks = tasks.map((t) => ({ id: t.id, nodeId: t.nodeId }));
    numsServiceId = tasks[0]?.serviceId ?? "";
    expect(new Set(tasks.map((t) => t.nodeId)).size).toBe(2);
    const ids = tasks.map((t) => t.id.slice(0, 12)).sort();

    const byTask = await waitFor(
      async () => {
        const got = numbersByTask(await logs(m, ["nums"]));
        return [...got.keys()].sort().join() === ids.join() && [...got.values()].every((n) => n.length >= 20)
          ? got
          : undefined;
      },
      {
        description: "20 lines of each of the 3 tasks in `service logs`",
        timeoutMs: 180_000,
        intervalMs: 2_000,
      },
    );
    // In order, none missing, none twice.
    for (const numbers of byTask.values()) expect(numbers).toEqual(oneToN(numbers));

    // -f prints what is stored, then a line written after it started.
    const follow = spawn("node", [BUILT_CLI, "service", "logs", "-f", "nums"], {
      env: { ...process.env, SHOAL_SOCKET: m.socketPath, SHOAL_HOST: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    follow.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    follow.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    try {
      const maxBefore = Math.max(...[...numbersByTask(await logs(m, ["nums"])).values()].flat());
      await waitFor(
        () => {
          if (follow.exitCode !== null) throw new Error(`service logs -f exited ${follow.exitCode}: ${err}`);
          return [...numbersByTask(out).values()].flat().some((n) => n > maxBefore);
        },
        {
          description: `a line after n${maxBefore} in \`service logs -f\``,
          timeoutMs: 60_000,
          intervalMs: 500,
        },
      );
      for (const numbers of numbersByTask(out).values()) expect(numbers).toEqual(oneToN(numbers));
    } finally {
      follow.kill("SIGTERM");
    }
  }, 600_000);

  it("serves /metrics on every daemon (--metrics-addr), and the figures moved as the tasks started", async () => {
    const m = c().manager;
    const before = (d: TestDaemon) => metricsBefore.get(d.name) as Family[];
    const now = await scrape(m);
    expect(figure(before(m), "shoal_tasks", { service: "nums" })).toBe(0);
    await waitFor(
      async () => figure(await scrape(m), "shoal_tasks", { service: "nums", state: "running" }) === 3,
      {
        description: "shoal_tasks{service=nums,state=running} 3 on the manager",
        timeoutMs: 30_000,
        intervalMs: 1_000,
      },
    );
    expect(figure(now, "shoal_raft_term")).toBeGreaterThanOrEqual(1);
    expect(figure(now, "shoal_dispatcher_sessions")).toBe(c().daemons.length);
    expect(figure(now, "shoal_scheduling_latency_seconds")).toBeGreaterThan(
      figure(before(m), "shoal_scheduling_latency_seconds"),
    );
    // The service's creation and its tasks' writes were proposed and committed.
    expect(figure(now, "shoal_raft_commit_latency_seconds")).toBeGreaterThan(
      figure(before(m), "shoal_raft_commit_latency_seconds"),
    );
    // Every manager sees the cluster: the same tasks through another manager's store.
    const other = c().managers[1] as TestDaemon;
    expect(figure(await scrape(other), "shoal_tasks", { service: "nums" })).toBeGreaterThanOrEqual(3);
    for (const w of c().workers) {
      const after = await scrape(w);
      const started = numsTasks.filter((t) => t.nodeId === w.nodeId).length;
      expect(
        figure(after, "shoal_agent_task_start_latency_seconds") -
          figure(before(w), "shoal_agent_task_start_latency_seconds"),
        `tasks started on ${w.name}`,
      ).toBeGreaterThanOrEqual(started);
      expect(figure(after, "shoal_log_lines_published_total")).toBeGreaterThan(
        figure(before(w), "shoal_log_lines_published_total"),
      );
      expect(figure(after, "shoal_image_pull_duration_seconds")).toBeGreaterThanOrEqual(1);
      expect(figure(after, "shoal_image_pull_bytes_total")).toBeGreaterThan(0);
    }
  }, 120_000);

  it("neither loses nor repeats a line when the daemon is killed and restarted in the middle of a burst", async () => {
    const m = c().manager;
    const worker = c().workers[1] as TestDaemon;
    await m.shoalOk([
      "service",
      "create",
      "--detach",
      "--name",
      "burst",
      "--constraint",
      `node.hostname==${worker.name}`,
      c().image,
      ...BURST,
    ]);
    const [task] = await c().waitForRunning("burst", 1);
    const lastNumber = async (): Promise<number> => {
      const text = (await logs(m, ["burst", "--tail", "1", "--raw"])).trim();
      return text === "" ? 0 : Number(text.replace(/^b/, ""));
    };
    const before = await waitFor(async () => ((await lastNumber()) >= 3_000 ? lastNumber() : undefined), {
      description: "3,000 burst lines stored",
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    // The daemon dies mid-batch (SIGKILL: no clean stop); the container goes on writing.
    await worker.kill();
    await worker.start();
    expect(before).toBeLessThan(BURST_LINES);
    const all = await waitFor(
      async () => {
        const text = await logs(m, ["burst", "--raw"]);
        return text.includes(`b${BURST_LINES}\n`) ? text : undefined;
      },
      { description: `b${BURST_LINES} stored after the restart`, timeoutMs: 300_000, intervalMs: 3_000 },
    );
    // The same task (its container outlived the daemon), not a replacement: else the numbers
    // below would be two tasks' (the node was marked down while its daemon restarted).
    const [after] = await c().waitForRunning("burst", 1);
    expect(after?.id, "the burst task was replaced during the restart").toBe(task?.id);
    const numbers = all
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => Number(l.replace(/^b/, "")));
    expect(numbers.length).toBe(BURST_LINES);
    expect(numbers.every((n, i) => n === i + 1)).toBe(true);
  }, 600_000);

  it("refuses an agent's credentials publishing as another node (the server says so)", async () => {
    const [a, b] = c().workers as [TestDaemon, TestDaemon];
    const tls = await readTls(a.dataDir);
    const nc = await connectBus({
      servers: [`tls://${c().manager.host.address}:${CLUSTER_PORT + 1}`],
      nodeId: a.nodeId as string,
      tls: { caPem: tls.rootCertPem, certPem: tls.certPem, keyPem: tls.keyPem },
      maxReconnectAttempts: 0,
    });
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "error") errors.push(String(s.error));
    })();
    try {
      const forged = `shoal.logs.${b.nodeId}.${numsServiceId}.forged`;
      nc.publish(forged, "a line as another node");
      // Its own subject is allowed; the garbage it stores there must not break readers (below).
      nc.publish(`shoal.logs.${a.nodeId}.${numsServiceId}.own`, "{}");
      await nc.flush();
      await waitFor(() => errors.some((e) => /permissions violation/i.test(e) && e.includes(forged)), {
        description: `the server's permissions violation for ${forged} (errors so far: ${errors.join("; ")})`,
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      expect(errors.some((e) => e.includes(`shoal.logs.${a.nodeId}.`))).toBe(false);
    } finally {
      await nc.close();
    }
  }, 120_000);

  it("serves logs and events to a remote CLI (--host) with a manager's certificate, not a worker's", async () => {
    const [m1, m2] = c().managers as [TestDaemon, TestDaemon];
    const r = await remote(m2, m1, ["service", "logs", "nums"]);
    expect(r.code, r.stderr).toBe(0);
    const byTask = numbersByTask(r.stdout);
    expect(byTask.size).toBe(3);
    for (const numbers of byTask.values()) expect(numbers).toEqual(oneToN(numbers));
    const ev = await remote(m2, m1, ["events", "--type", "service"]);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/ service create \w+ \(name=nums\)/);
    // A worker's certificate is refused before any handler runs.
    const refused = await remote(c().workers[0] as TestDaemon, m1, ["service", "logs", "nums"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/permission|not allowed|denied|role/i);
  }, 300_000);

  it("goes on through the other managers while one manager's nats-server is killed, which is restarted", async () => {
    const [victim, other] = c().managers as [TestDaemon, TestDaemon];
    const pid = await natsPid(victim);
    expect(alive(pid)).toBe(true);
    const maxBefore = Math.max(...[...numbersByTask(await logs(other, ["nums"])).values()].flat());
    process.kill(pid, "SIGKILL");

    // Logs: a line written after the kill, read through another manager.
    await waitFor(
      async () =>
        [...numbersByTask(await logs(other, ["nums"])).values()].flat().some((n) => n > maxBefore + 1),
      {
        description: `a line after n${maxBefore + 1} through ${other.name}`,
        timeoutMs: 120_000,
        intervalMs: 2_000,
      },
    );
    // Events: a service created after the kill.
    await other.shoalOk(["service", "create", "--detach", "--name", "probe", "--replicas", "0", c().image]);
    await waitFor(async () => / service create \w+ \(name=probe\)/.test(await other.shoalOk(["events"])), {
      description: `the probe's create event through ${other.name}`,
      timeoutMs: 120_000,
      intervalMs: 2_000,
    });
    // The supervisor restarted the server, and the victim serves logs again.
    const restarted = await waitFor(
      async () => {
        const now = await natsPid(victim);
        return now !== pid && alive(now) ? now : undefined;
      },
      { description: `${victim.name}'s nats-server restarted`, timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(restarted).not.toBe(pid);
    await waitFor(async () => numbersByTask(await logs(victim, ["nums"])).size === 3, {
      description: `service logs through ${victim.name} again`,
      timeoutMs: 120_000,
      intervalMs: 2_000,
    });
    await other.shoalOk(["service", "rm", "probe"]);
  }, 600_000);

  it("keeps the lines of a task whose node is gone, and events show create, task transitions and node down in order", async () => {
    const m = c().manager;
    const gone = c().workers[0] as TestDaemon;
    const goneTasks = numsTasks.filter((t) => t.nodeId === gone.nodeId).map((t) => t.id);
    expect(goneTasks.length).toBeGreaterThan(0);
    // The node dies with its tasks and never comes back.
    await gone.killWithContainers();
    const events = await waitFor(
      async () => {
        const list = parseEvents(await m.shoalOk(["events"]));
        return list.some((e) => e.type === "node" && e.action === "down" && e.id === gone.nodeId)
          ? list
          : undefined;
      },
      { description: `node down of ${gone.name} in \`shoal events\``, timeoutMs: 120_000, intervalMs: 2_000 },
    );
    const byTask = numbersByTask(await logs(m, ["nums"]));
    for (const id of goneTasks) {
      const numbers = byTask.get(id.slice(0, 12)) ?? [];
      expect(numbers.length, `lines of task ${id} of the gone node`).toBeGreaterThanOrEqual(20);
      expect(numbers).toEqual(oneToN(numbers));
    }
    // Also by task id, with whole ids, and by the 12-character prefix `service ps` shows.
    const one = await logs(m, [goneTasks[0] as string, "--no-trunc"]);
    expect(one).toContain(`.${goneTasks[0]}@`);
    const byPrefix = numbersByTask(await logs(m, [(goneTasks[0] as string).slice(0, 12)]));
    expect([...byPrefix.keys()]).toEqual([(goneTasks[0] as string).slice(0, 12)]);

    const at = (pred: (e: EventLine) => boolean, what: string) => {
      const i = events.findIndex(pred);
      expect(
        i,
        `${what} in:\n${events.map((e) => `${e.type} ${e.action} ${e.id}`).join("\n")}`,
      ).toBeGreaterThanOrEqual(0);
      return i;
    };
    const created = at(
      (e) => e.type === "service" && e.action === "create" && e.id === numsServiceId,
      "nums create",
    );
    const down = at((e) => e.type === "node" && e.action === "down" && e.id === gone.nodeId, "node down");
    for (const { id } of numsTasks) {
      const mine = events
        .map((e, i) => ({ e, i }))
        .filter(({ e }) => e.type === "task" && e.id === id && e.action !== "remove");
      expect(mine.length, `events of task ${id}`).toBeGreaterThan(1);
      expect(mine[0]?.i).toBeGreaterThan(created);
      // Each state event starts where the previous one ended.
      for (let k = 1; k < mine.length; k++) expect(mine[k]?.e.attrs.from).toBe(mine[k - 1]?.e.attrs.state);
      const running = mine.find(({ e }) => e.attrs.state === "running");
      expect(running, `task ${id} running`).toBeDefined();
      if (goneTasks.includes(id)) expect(running?.i).toBeLessThan(down);
    }
  }, 600_000);
});

describe("log retention", () => {
  it("keeps lines for the cluster's retention unless a service's label says otherwise, and says when none are left", async () => {
    const m = c().manager;
    await m.shoalOk(["cluster", "update", "--log-max-age", "6s"]);
    const three = ["sh", "-c", "echo r1; echo r2; echo r3; while true; do sleep 3600; done"];
    const onWorkers = ["--constraint", "node.role==worker"];
    await m.shoalOk(["service", "create", "--detach", "--name", "brief", ...onWorkers, c().image, ...three]);
    await m.shoalOk([
      "service",
      "create",
      "--detach",
      "--name",
      "kept",
      "--label",
      "shoal.logs.max-age=1h",
      ...onWorkers,
      c().image,
      ...three,
    ]);
    await c().waitForRunning("brief", 1);
    await c().waitForRunning("kept", 1);
    const gone = await waitFor(
      async () => {
        const r = await m.shoal(["service", "logs", "brief"]);
        return r.code === 0 && /retention .* has removed all its lines/.test(r.stderr) ? r : undefined;
      },
      { description: "the notice that brief's lines are gone", timeoutMs: 120_000, intervalMs: 2_000 },
    );
    expect(gone.stdout).toBe("");
    expect(await logs(m, ["kept", "--raw"])).toBe("r1\nr2\nr3\n");
    // A value that is not a size changes nothing and says which.
    const bad = await m.shoal(["cluster", "update", "--log-max-bytes", "lots"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('shoal.logs.max-bytes="lots"');
    await m.shoalOk(["cluster", "update", "--log-max-age", "168h"]);
  }, 300_000);
});

describe("shoal events", () => {
  it("filters by type", async () => {
    const out = await c().manager.shoalOk(["events", "--type", "task"]);
    expect(out).toMatch(/ task state \w+ \(.*state=running/);
    expect(out).not.toMatch(/ (service|node|leader) /);
  }, 120_000);

  it("filters as docker's --filter does, by type, service name and node hostname", async () => {
    const m = c().manager;
    const nums = parseEvents(
      await m.shoalOk(["events", "--filter", "type=task", "--filter", "service=nums"]),
    );
    for (const { id } of numsTasks) expect(nums.some((e) => e.id === id)).toBe(true);
    expect(nums.every((e) => e.type === "task")).toBe(true);
    const burst = parseEvents(
      await m.shoalOk(["events", "--filter", "type=task", "--filter", "service=burst"]),
    );
    expect(burst.length).toBeGreaterThan(0);
    expect(burst.some((e) => numsTasks.some((t) => t.id === e.id))).toBe(false);

    const gone = c().workers[0] as TestDaemon;
    const nodeEvents = parseEvents(
      await m.shoalOk(["events", "--filter", "type=node", "--filter", `node=${gone.name}`]),
    );
    expect(nodeEvents.some((e) => e.action === "down" && e.id === gone.nodeId)).toBe(true);
    expect(nodeEvents.every((e) => e.type === "node" && e.id === gone.nodeId)).toBe(true);

    const bad = await m.shoal(["events", "--filter", "colour=blue"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--filter "colour=blue" is not a filter');
  }, 120_000);

  it("shows a leader change: the leader stops, another manager is elected and says so", async () => {
    const [first, other] = c().managers as [TestDaemon, TestDaemon];
    const leaderOf = async () =>
      (await other.shoalJson<{ id: string; managerStatus?: { leader?: boolean } }[]>(["node", "ls"])).find(
        (n) => n.managerStatus?.leader === true,
      )?.id;
    const before = await waitFor(leaderOf, { description: "a leader", timeoutMs: 30_000, intervalMs: 1_000 });
    const leader = c().byNodeId(before);
    // A graceful stop hands leadership over.
    await leader.stop();
    try {
      const reader = leader === first ? other : first;
      const elected = await waitFor(
        async () =>
          parseEvents(await reader.shoalOk(["events", "--type", "leader"])).find(
            (e) => e.action === "elected" && e.id !== before,
          ),
        { description: "a leader event of another manager", timeoutMs: 120_000, intervalMs: 2_000 },
      );
      expect(c().managers.map((m) => m.nodeId)).toContain(elected.id);
      expect(Number(elected.attrs.term)).toBeGreaterThan(0);
    } finally {
      await leader.start();
    }
  }, 300_000);
});
