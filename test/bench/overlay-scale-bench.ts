// How fast a service's VIP follows `service scale`, seen from a node that runs none of the
// replicas added or removed: real daemons on three test hosts (one manager, two workers) with
// real runc, a stack with a busybox httpd service `web` (on the workers, answering "hello from
// <hostname>", the task id's prefix) and a client `probe` (on the manager) on one overlay network.
// Inside the client, loops connect to web's VIP (not its name: the resolver is not measured) and
// print who answered; the bench stamps each line as it arrives. One `name value unit` line each:
//   vip_backends_after_scale_up_s    web 2 → 4: from the control API acknowledging the update
//                                    until each of the 2 new replicas has answered through the VIP
//   vip_backends_after_running_s     the same end, from when the later of the 2 new tasks is first
//                                    seen RUNNING in the control API (polled every 10 ms): the
//                                    overlay's share, without scheduling and container start
//   vip_backends_after_scale_down_s  web 4 → 2: from the acknowledgement until the last answer of
//                                    a removed replica (web ignores SIGTERM and keeps serving for
//                                    its 5 s stop grace period, so only the VIP can stop them)
// The median of ROUNDS rounds each; every round's values are printed on stderr.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { percentile, reportFigure } from "@shoal/base";
import {
  type ControlClient,
  type GetServiceResponse,
  ListTasksRequest,
  type ListTasksResponse,
  type Service,
  TaskState,
} from "@shoal/proto";
import { waitFor } from "@shoal/testkit";
import { adminControlClient, serviceIdByName, unary } from "../support/admin-api.js";
import { startCluster, type TestCluster } from "../support/cluster.js";

const ROUNDS = 3;
/** Parallel connection loops in the client: a new replica is picked sooner. */
const LOOPS = 4;
/** After a scale down, how long answers are watched for a removed replica (below the grace period). */
const WATCH_DOWN_MS = 4_000;
const GRACE = "5s";

const IDLE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"];
/** httpd that keeps serving through SIGTERM (ignored, also by httpd) until the grace period's SIGKILL. */
const STUBBORN_HTTPD = [
  "sh",
  "-c",
  `trap '' TERM; mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && httpd -f -p 80 -h /www`,
];

/** `sh -c script` in a container; its output (also when it fails). */
function execIn(runcRoot: string, containerId: string, script: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn("runc", ["--root", runcRoot, "exec", containerId, "sh", "-c", script]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve(`${out}(exit ${code})`));
  });
}

function stackFile(image: string): string {
  const cmd = (c: string[]) => JSON.stringify(c.map((a) => a.replaceAll("$", "$$$$")));
  return [
    'version: "3.8"',
    "services:",
    "  web:",
    `    image: ${image}`,
    `    command: ${cmd(STUBBORN_HTTPD)}`,
    "    networks: [net]",
    `    stop_grace_period: ${GRACE}`,
    "    deploy:",
    "      replicas: 2",
    "      placement: {constraints: [node.role == worker]}",
    "  probe:",
    `    image: ${image}`,
    `    command: ${cmd(IDLE)}`,
    "    networks: [net]",
    "    deploy:",
    "      replicas: 1",
    "      placement: {constraints: [node.role == manager]}",
    "networks:",
    "  net: {}",
    "",
  ].join("\n");
}

interface Answer {
  atMs: number;
  /** The hostname that answered, or "FAILED". */
  who: string;
}

/** `LOOPS` wget loops against `url` in the client's container; every answer stamped on arrival. */
class Client {
  readonly answers: Answer[] = [];
  private readonly child: ChildProcess;
  private rest = "";

  constructor(runcRoot: string, containerId: string, url: string) {
    // busybox wget -T crashes in the fixture (SIGSEGV): the timeout applet bounds each attempt.
    const loop = `while true; do timeout 2 wget -q -O - ${url} 2>/dev/null || echo FAILED; done`;
    const script = `${Array.from({ length: LOOPS }, () => `(${loop}) &`).join(" ")} wait`;
    this.child = spawn("runc", ["--root", runcRoot, "exec", containerId, "sh", "-c", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.child.stdout?.on("data", (chunk: Buffer) => {
      const atMs = performance.now();
      const lines = (this.rest + chunk.toString("utf8")).split("\n");
      this.rest = lines.pop() ?? "";
      for (const line of lines) {
        const who = line.replace(/^hello from /, "").trim();
        if (who !== "") this.answers.push({ atMs, who });
      }
    });
  }

  since(ms: number): Answer[] {
    return this.answers.filter((a) => a.atMs >= ms);
  }

  stop(): void {
    this.child.kill("SIGKILL");
  }
}

class Api {
  private readonly client: ControlClient;
  constructor(socketPath: string) {
    this.client = adminControlClient(socketPath);
  }

  async service(name: string): Promise<Service> {
    const id = await serviceIdByName(this.client, name);
    const got = await unary<GetServiceResponse>((cb) =>
      this.client.getService({ serviceId: id, insertDefaults: false }, cb),
    );
    if (got.service === undefined) throw new Error(`no service "${name}"`);
    return got.service;
  }

  /** Tasks desired running, with whether they run. */
  async tasks(serviceId: string): Promise<{ id: string; nodeId: string; running: boolean }[]> {
    const r = await unary<ListTasksResponse>((cb) =>
      this.client.listTasks(
        ListTasksRequest.fromPartial({
          filters: { serviceIds: [serviceId], desiredStates: [TaskState.RUNNING] },
        }),
        cb,
      ),
    );
    return r.tasks.map((t) => ({
      id: t.id,
      nodeId: t.nodeId,
      running: t.status?.state === TaskState.RUNNING,
    }));
  }

  /** `service scale NAME=n` as the CLI sends it; resolves when the control API acknowledged it. */
  async scale(name: string, replicas: number): Promise<number> {
    const s = await this.service(name);
    const spec = structuredClone(s.spec);
    if (spec?.mode?.$case !== "replicated") throw new Error(`service "${name}" is not replicated`);
    spec.mode.value.replicas = replicas;
    await unary((cb) =>
      this.client.updateService(
        { serviceId: s.id, serviceVersion: s.meta?.version ?? 0, spec, rollback: false },
        cb,
      ),
    );
    return performance.now();
  }

  close(): void {
    this.client.close();
  }
}

/** A hostname is the task id's prefix. */
const isTask = (who: string, taskId: string) => who !== "" && taskId.startsWith(who);

async function untilRunning(
  api: Api,
  serviceId: string,
  count: number,
): Promise<{ id: string; nodeId: string }[]> {
  return waitFor(
    async () => {
      const tasks = await api.tasks(serviceId);
      return tasks.length === count && tasks.every((t) => t.running) ? tasks : undefined;
    },
    { description: `${count} running tasks of web`, timeoutMs: 300_000, intervalMs: 20 },
  );
}

async function bench(cluster: TestCluster): Promise<void> {
  const m = cluster.manager;
  const file = join(cluster.work.path, "bench.yml");
  await writeFile(file, stackFile(cluster.image));
  await m.shoalOk(["stack", "deploy", "-c", file, "bench"], { timeoutMs: 400_000 });
  const api = new Api(m.socketPath);
  let client: Client | undefined;
  try {
    const web = await api.service("bench_web");
    const probe = await api.service("bench_probe");
    const vip = web.endpoint?.virtualIps[0]?.addr.split("/")[0];
    if (vip === undefined) throw new Error("web has no VIP");
    let tasks = await untilRunning(api, web.id, 2);
    const [probeTask] = await untilRunning(api, probe.id, 1);
    if (probeTask === undefined) throw new Error("no probe task");
    if (tasks.some((t) => t.nodeId === probeTask.nodeId)) throw new Error("web runs on the client's node");
    client = new Client(cluster.byNodeId(probeTask.nodeId).runcRoot, probeTask.id, `http://${vip}/`);
    const c = client;
    // Both replicas answer before the first round.
    await waitFor(
      () => {
        const seen = c.since(performance.now() - 2_000);
        return tasks.every((t) => seen.some((a) => isTask(a.who, t.id))) || undefined;
      },
      { description: "both replicas answering through the VIP", timeoutMs: 120_000, intervalMs: 100 },
    ).catch(async (err: unknown) => {
      const last = c.answers.slice(-8).map((a) => a.who);
      const probeRoot = cluster.byNodeId(probeTask.nodeId).runcRoot;
      const web0 = tasks[0] as { id: string; nodeId: string };
      const diag = [
        await execIn(
          probeRoot,
          probeTask.id,
          `wget -T 2 -O - http://${vip}/; ip -o addr; ip route; iptables-save -t nat`,
        ),
        await execIn(cluster.byNodeId(web0.nodeId).runcRoot, web0.id, "ps; ip -o addr; netstat -ltn"),
      ].join("\n----\n");
      throw new Error(
        `${String(err)}; ${c.answers.length} answers, the last: ${JSON.stringify(last)}\n${diag}`,
      );
    });
    const ups: number[] = [];
    const downs: number[] = [];
    const afterRunning: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const before = new Set(tasks.map((t) => t.id));
      const t0 = await api.scale("bench_web", 4);
      const ackWall = Date.now();
      // When each task is first seen RUNNING in the control API (polled from the ack on).
      const runningAt = new Map<string, number>();
      let polling = true;
      const poll = (async () => {
        while (polling) {
          for (const t of await api.tasks(web.id))
            if (t.running && !runningAt.has(t.id)) runningAt.set(t.id, performance.now());
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const fresh = (await waitFor(
        async () => {
          const now = await api.tasks(web.id);
          const added = now.filter((t) => !before.has(t.id));
          return added.length === 2 ? added : undefined;
        },
        { description: "the 2 new tasks", timeoutMs: 60_000, intervalMs: 10 },
      )) as { id: string; nodeId: string; running: boolean }[];
      const reached = await waitFor(
        () => {
          const seen = c.since(t0);
          const first = fresh.map((t) => seen.find((a) => isTask(a.who, t.id))?.atMs);
          return first.every((x) => x !== undefined) ? Math.max(...(first as number[])) : undefined;
        },
        { description: "the new replicas answering through the VIP", timeoutMs: 120_000, intervalMs: 10 },
      );
      const all = await untilRunning(api, web.id, 4);
      await waitFor(() => fresh.every((t) => runningAt.has(t.id)) || undefined, {
        description: "the new tasks' RUNNING seen by the poller",
        timeoutMs: 60_000,
        intervalMs: 10,
      });
      polling = false;
      await poll;
      const running = Math.max(...fresh.map((t) => runningAt.get(t.id) as number));
      ups.push((reached - t0) / 1000);
      afterRunning.push((reached - running) / 1000);
      process.stderr.write(
        `round ${round} up: both new tasks RUNNING in the control API ${((running - t0) / 1000).toFixed(3)} s after the ack, reached through the VIP after ${((reached - t0) / 1000).toFixed(3)} s (${((reached - running) / 1000).toFixed(3)} s after RUNNING); ack at ${new Date(ackWall).toISOString()}, tasks ${fresh.map((t) => t.id).join(" ")}\n`,
      );
      tasks = all;
      // Let the previous replicas' answers settle, then scale down (the newest go? any 2).
      await new Promise((r) => setTimeout(r, 1_000));
      const held = new Set(tasks.map((t) => t.id));
      const t1 = await api.scale("bench_web", 2);
      const kept = await waitFor(
        async () => {
          const now = await api.tasks(web.id);
          return now.length === 2 ? now : undefined;
        },
        { description: "2 tasks desired running", timeoutMs: 60_000, intervalMs: 10 },
      );
      const removed = [...held].filter((id) => !kept.some((t) => t.id === id));
      await new Promise((r) => setTimeout(r, Math.max(0, t1 + WATCH_DOWN_MS - performance.now())));
      const after = c.since(t1).filter((a) => a.atMs < t1 + WATCH_DOWN_MS);
      const last = after.filter((a) => removed.some((id) => isTask(a.who, id))).at(-1)?.atMs ?? t1;
      const failed = after.filter((a) => a.who === "FAILED").length;
      downs.push((last - t1) / 1000);
      process.stderr.write(
        `round ${round} down: last answer of a removed replica ${((last - t1) / 1000).toFixed(3)} s after the ack; ${after.length} answers in ${WATCH_DOWN_MS} ms, ${failed} failed\n`,
      );
      tasks = await untilRunning(api, web.id, 2);
      // The removed replicas' containers end with their grace period before the next round.
      await new Promise((r) => setTimeout(r, 2_000));
    }
    reportFigure("vip_backends_after_scale_up_s", percentile(ups, 50), "s");
    reportFigure("vip_backends_after_running_s", percentile(afterRunning, 50), "s");
    reportFigure("vip_backends_after_scale_down_s", percentile(downs, 50), "s");
  } finally {
    client?.stop();
    api.close();
  }
}

const cluster = await startCluster({ managers: 1, workers: 2, heartbeatMs: 2_000 });
try {
  await bench(cluster);
} finally {
  await cluster.destroy();
}
