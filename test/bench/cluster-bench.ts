// Shoal on real runc across three test hosts (one manager, two workers, each a `shoal daemon`
// process), on the workloads bench/swarm.sh measures Docker Swarm with. One `name value unit`
// line per figure:
//   converge_100_replicas_s    `service create --replicas 100` until 100 tasks run
//   scale_10_to_100_s          `service scale S=100` of a running 10 until 100 run
//   replace_killed_task_s      kill -9 of a task's process until its replacement runs (restart delay 0)
//   daemon_rss_mib_idle        the manager's daemon (manager + agent in one process), no services
//   manager_nats_rss_mib_idle  that daemon's nats-server child at the same moment (a manager's
//                              footprint beside the figure above; run with it)
//   agent_rss_mib_100_tasks    a worker's daemon with 100 tasks on it
//   rolling_update_20_p5_startfirst_s  `service update --env-add V=2` of 20 running tasks,
//                              parallelism 5, start-first, 5 s monitor, no delay, until the
//                              service's update status is COMPLETED
// Times start before the CLI command (as Swarm's do) and end when the control API first reports
// the target; the control API is polled every 50 ms over the manager's admin socket.
// SHOAL_BENCH_ONLY=name,name… runs only those figures (e.g. `replace_killed_task_s`); unset, all.
// SHOAL_BENCH_KILLS=n kills the task n times (each replacement in turn) and reports the median.
// SHOAL_BENCH_IDLE_WAIT_MS=ms: how long after start the idle memory is read (default 5000).
import { readdir, readFile } from "node:fs/promises";
import { reportFigure } from "@shoal/base";
import {
  type ControlClient,
  type GetServiceResponse,
  type ListServiceStatusesResponse,
  ListTasksRequest,
  type ListTasksResponse,
  TaskState,
  UpdateState,
} from "@shoal/proto";
import { LABEL_SERVICE_NAME } from "@shoal/runtime";
import { waitFor } from "@shoal/testkit";
import { adminControlClient, serviceIdByName, unary } from "../support/admin-api.js";
import { startCluster, type TestCluster, type TestDaemon } from "../support/cluster.js";
import { rssMib } from "../support/proc.js";

const POLL_MS = 50;
const KILLS = Math.max(1, Number(process.env.SHOAL_BENCH_KILLS ?? "1") || 1);
const ONLY = process.env.SHOAL_BENCH_ONLY?.split(",").filter((n) => n !== "");
/** Whether the figure `name` is to be measured (SHOAL_BENCH_ONLY). */
const wants = (name: string): boolean => ONLY === undefined || ONLY.length === 0 || ONLY.includes(name);
const SLEEP = ["sleep", "1000000"];

class Probe {
  private readonly client: ControlClient;
  constructor(socketPath: string) {
    this.client = adminControlClient(socketPath);
  }

  serviceId(name: string): Promise<string> {
    return serviceIdByName(this.client, name);
  }

  async running(serviceId: string): Promise<number> {
    const r = await unary<ListServiceStatusesResponse>((cb) =>
      this.client.listServiceStatuses({ serviceIds: [serviceId] }, cb),
    );
    return r.statuses[0]?.runningTasks ?? 0;
  }

  async runningTasks(serviceId: string): Promise<{ id: string; nodeId: string; pid: number }[]> {
    const r = await unary<ListTasksResponse>((cb) =>
      this.client.listTasks(
        ListTasksRequest.fromPartial({
          filters: { serviceIds: [serviceId], desiredStates: [TaskState.RUNNING] },
        }),
        cb,
      ),
    );
    return r.tasks
      .filter((t) => t.status?.state === TaskState.RUNNING)
      .map((t) => ({ id: t.id, nodeId: t.nodeId, pid: t.status?.containerStatus?.pid ?? 0 }));
  }

  /** Resolves with the time (ms, performance.now) at which the service's update first completed. */
  async untilUpdateCompleted(serviceId: string, timeoutMs = 600_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { service } = await unary<GetServiceResponse>((cb) =>
        this.client.getService({ serviceId, insertDefaults: false }, cb),
      );
      const state = service?.updateStatus?.state;
      if (state === UpdateState.COMPLETED) return performance.now();
      if (state === UpdateState.PAUSED || state === UpdateState.ROLLBACK_STARTED)
        throw new Error(`the update did not complete: ${service?.updateStatus?.message}`);
      if (performance.now() > deadline) throw new Error(`the update did not complete within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Resolves with the time (ms, performance.now) at which `count` tasks first ran. */
  async untilRunning(serviceId: string, count: number, timeoutMs = 600_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if ((await this.running(serviceId)) >= count) return performance.now();
      if (performance.now() > deadline) throw new Error(`${count} tasks did not run within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  close(): void {
    this.client.close();
  }
}

/** The resident memory of the daemon's nats-server child (only a manager runs one). */
async function natsRssMib(d: TestDaemon): Promise<number> {
  if (d.pid === undefined) throw new Error(`daemon ${d.name} is not running`);
  const tasks = await readdir(`/proc/${d.pid}/task`);
  const children = (
    await Promise.all(tasks.map((t) => readFile(`/proc/${d.pid}/task/${t}/children`, "utf8")))
  )
    .join(" ")
    .split(/\s+/)
    .filter((p) => p !== "");
  for (const pid of children) {
    const comm = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
    if (comm === "nats-server") return rssMib(Number(pid));
  }
  throw new Error(`daemon ${d.name} runs no nats-server child`);
}

/** The daemon's resident memory; it must be running. */
function daemonRssMib(d: TestDaemon): Promise<number> {
  if (d.pid === undefined) throw new Error(`daemon ${d.name} is not running`);
  return rssMib(d.pid);
}

async function removeService(cluster: TestCluster, probe: Probe, name: string): Promise<void> {
  const id = await probe.serviceId(name);
  // The control API can refuse a removal that races a task write (MANAGER_VERSION_CONFLICT, seen
  // at load 25); the user's answer is to run it again.
  await waitFor(
    async () => {
      const r = await cluster.manager.shoal(["service", "rm", name]);
      return r.code === 0 || /not found/.test(r.stderr);
    },
    {
      description: `service rm ${name}`,
      timeoutMs: 60_000,
      intervalMs: 1_000,
    },
  );
  await waitFor(async () => (await probe.runningTasks(id).catch(() => [])).length === 0, {
    description: `service ${name}'s tasks to stop`,
    timeoutMs: 300_000,
  });
  // As bench/swarm.sh does (`docker ps` until empty): until no node runs one of its containers,
  // so the next figure does not measure this service's teardown.
  const running = async (d: TestDaemon) =>
    (await d.containers()).filter(
      (c) => c.status === "running" && c.annotations?.[LABEL_SERVICE_NAME] === name,
    ).length;
  await waitFor(async () => (await Promise.all(cluster.daemons.map(running))).every((n) => n === 0), {
    description: `service ${name}'s containers to stop on every node`,
    timeoutMs: 300_000,
  });
}

async function bench(cluster: TestCluster): Promise<void> {
  const m = cluster.manager;
  const probe = new Probe(m.socketPath);
  const create = (name: string, replicas: number, ...flags: string[]) =>
    m.shoalOk([
      "service",
      "create",
      "--detach",
      "--name",
      name,
      "--replicas",
      String(replicas),
      "--stop-grace-period",
      "1s",
      ...flags,
      cluster.image,
      ...SLEEP,
    ]);
  try {
    await new Promise((r) => setTimeout(r, Number(process.env.SHOAL_BENCH_IDLE_WAIT_MS ?? "5000")));
    if (wants("daemon_rss_mib_idle")) {
      reportFigure("daemon_rss_mib_idle", await daemonRssMib(m), "MiB");
      reportFigure("manager_nats_rss_mib_idle", await natsRssMib(m), "MiB");
    }
    // Without the first figure (whose nodes pull the image), every node pulls it here, so that a
    // figure run alone does not time a pull the full run would not.
    if (!wants("converge_100_replicas_s"))
      await Promise.all(cluster.daemons.map((d) => d.shoalOk(["image", "pull", cluster.image])));

    if (wants("converge_100_replicas_s")) {
      const t0 = performance.now();
      await create("conv", 100);
      reportFigure(
        "converge_100_replicas_s",
        ((await probe.untilRunning(await probe.serviceId("conv"), 100)) - t0) / 1000,
        "s",
      );
      await removeService(cluster, probe, "conv");
    }

    if (wants("scale_10_to_100_s")) {
      await create("scale", 10);
      const scaleId = await probe.serviceId("scale");
      await probe.untilRunning(scaleId, 10);
      const t0 = performance.now();
      await m.shoalOk(["service", "scale", "--detach", "scale=100"]);
      reportFigure("scale_10_to_100_s", ((await probe.untilRunning(scaleId, 100)) - t0) / 1000, "s");
      await removeService(cluster, probe, "scale");
    }

    if (wants("replace_killed_task_s")) {
      await create("kill", 1, "--restart-delay", "0s");
      const killId = await probe.serviceId("kill");
      await probe.untilRunning(killId, 1);
      const times: number[] = [];
      for (let i = 0; i < KILLS; i++) {
        const [victim] = await probe.runningTasks(killId);
        if (victim === undefined || victim.pid === 0) throw new Error("the task reports no container pid");
        const t0 = performance.now();
        process.kill(victim.pid, "SIGKILL");
        for (;;) {
          const now = await probe.runningTasks(killId);
          if (now.some((t) => t.id !== victim.id && t.pid !== 0)) break;
          await new Promise((r) => setTimeout(r, POLL_MS / 5));
        }
        times.push((performance.now() - t0) / 1000);
        if (KILLS > 1) process.stderr.write(`kill ${i + 1}: ${times.at(-1)?.toFixed(3)} s\n`);
      }
      times.sort((a, b) => a - b);
      reportFigure("replace_killed_task_s", times[Math.floor((times.length - 1) / 2)] ?? 0, "s");
      await removeService(cluster, probe, "kill");
    }

    if (wants("rolling_update_20_p5_startfirst_s")) {
      await create(
        "roll",
        20,
        "--update-parallelism",
        "5",
        "--update-order",
        "start-first",
        "--update-monitor",
        "5s",
        "--update-delay",
        "0s",
      );
      const rollId = await probe.serviceId("roll");
      await probe.untilRunning(rollId, 20);
      const t0 = performance.now();
      await m.shoalOk(["service", "update", "--detach", "--env-add", "V=2", "roll"]);
      reportFigure(
        "rolling_update_20_p5_startfirst_s",
        ((await probe.untilUpdateCompleted(rollId)) - t0) / 1000,
        "s",
      );
      await removeService(cluster, probe, "roll");
    }

    if (wants("agent_rss_mib_100_tasks")) {
      const worker = cluster.workers[0];
      if (worker === undefined) throw new Error("no worker");
      await create("many", 100, "--constraint", `node.hostname==${worker.name}`);
      await probe.untilRunning(await probe.serviceId("many"), 100);
      await new Promise((r) => setTimeout(r, 5_000));
      reportFigure("agent_rss_mib_100_tasks", await daemonRssMib(worker), "MiB");
      await removeService(cluster, probe, "many");
    }
  } finally {
    probe.close();
  }
}

const cluster = await startCluster({ managers: 1, workers: 2 });
try {
  await bench(cluster);
} finally {
  await cluster.destroy();
}
