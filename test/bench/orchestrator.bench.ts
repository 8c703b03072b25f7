// The orchestrator end to end (issue 15), as processes: three managers (manager-main, one Raft
// cluster over mutual TLS on loopback), simulated agents in two processes of their own (900 +
// 100 nodes, so the 100 can be killed at once), and this process as the user (control API).
// The managers run the program `shoal daemon` runs — the bundled manager-main with the daemon's
// environment and V8 flags (../support/daemon-program.ts) — so build first (npx turbo run build):
// the bundle holds the sources as they were then.
//   scale_1k_to_10k_s            one service from 1,000 running to 10,000 running
//   e2e_sim_100k_tasks_s         100 services × 1,000 replicas created at once, until all RUNNING
//   leader_rss_mib_100k_tasks    the leader's resident memory then
//   reschedule_after_node_down_s SIGKILL of the 100-node agents process until every one of their
//                                tasks runs elsewhere (heartbeat 1 s: DOWN after 3 missed)
//   reschedule_down_detected_s   … until the leader wrote the last killed node DOWN (_first_node_: the
//                                first; _seen_: when the bench's polls of the leader first saw it)
// Sizes: SHOAL_BENCH_AGENTS (1,000), SHOAL_BENCH_SERVICES (100), SHOAL_BENCH_REPLICAS (1,000),
// SHOAL_BENCH_KILLED (100), SHOAL_BENCH_TIMEOUT_S per phase (900), SHOAL_BENCH_TICK_MS (500).
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { reportFigure } from "@shoal/base";
import { createClientCredentials, tlsChannelOptions } from "@shoal/pki";
import {
  ControlClient,
  type GetJoinTokensResponse,
  ListNodesRequest,
  type ListNodesResponse,
  type ListServiceStatusesResponse,
  ListTasksRequest,
  type ListTasksResponse,
  NodeState,
  type Service,
  ServiceSpec,
  TaskState,
} from "@shoal/proto";
import { Control, joinWorkers } from "../orchestrator/cluster-client.js";
import { bundledManager, type DaemonProgram } from "../support/daemon-program.js";
import { managerTls } from "../support/managers.js";
import { rssMib } from "../support/proc.js";
import type { AgentsFile } from "./agents-main.js";

const AGENTS = Number(process.env.SHOAL_BENCH_AGENTS ?? 1_000);
const SERVICES = Number(process.env.SHOAL_BENCH_SERVICES ?? 100);
const REPLICAS = Number(process.env.SHOAL_BENCH_REPLICAS ?? 1_000);
const KILLED = Number(process.env.SHOAL_BENCH_KILLED ?? 100);
// Raft tick (election after 10): a pass over 100,000 tasks holds a manager's event loop for
// seconds on this loaded machine, so the default 100 ms makes followers elect while it runs.
const TICK_MS = Number(process.env.SHOAL_BENCH_TICK_MS ?? 500);
// Node flags for the managers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (a profile each).
const PROFILE = process.env.SHOAL_BENCH_MANAGER_NODE_FLAGS;
const PHASE_TIMEOUT_MS = Number(process.env.SHOAL_BENCH_TIMEOUT_S ?? 900) * 1_000;
const repo = fileURLToPath(new URL("../..", import.meta.url));
const LOOPBACK = "127.0.0.1";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

/** A TypeScript entry of this repo, run through tsx (the simulated agents). */
const tsxEntry = (entry: string): DaemonProgram => ({
  nodeArgs: ["--conditions=shoal-source", "--import", "tsx", "--max-old-space-size=4096", join(repo, entry)],
  env: {},
});

/** Starts a program; resolves with its first stdout JSON line. */
function start(program: DaemonProgram, args: string[], logFile: string): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...program.nodeArgs, ...args], {
      cwd: repo,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...program.env,
        SHOAL_LOG_LEVEL: process.env.SHOAL_BENCH_LOG_LEVEL ?? "warn",
      },
    });
    const log: Buffer[] = [];
    const file = createWriteStream(logFile);
    child.stderr?.on("data", (b: Buffer) => {
      file.write(b);
      if (log.length < 100) log.push(b);
    });
    child.on("exit", () => file.end());
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ child, ready: JSON.parse(out.slice(0, nl)) as Record<string, unknown> });
    });
    child.once("exit", (code) =>
      reject(
        new Error(
          `${program.nodeArgs.at(-1)} exited with ${code} before it was ready: ${Buffer.concat(log).toString().slice(-2_000)}`,
        ),
      ),
    );
  });
}

const stateName = (state: TaskState) =>
  Object.entries(TaskState).find(([, v]) => v === state)?.[0] ?? String(state);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
const call = <T>(fn: (md: grpc.Metadata, o: grpc.CallOptions, cb: Callback<T>) => void) =>
  new Promise<T>((resolve, reject) =>
    fn(new grpc.Metadata(), { deadline: Date.now() + 120_000 }, (err, v) =>
      err ? reject(err) : resolve(v as T),
    ),
  );

const spec = (name: string, replicas: number) =>
  ServiceSpec.fromPartial({
    name,
    mode: { $case: "replicated", value: { replicas } },
    taskTemplate: { container: { image: "busybox" } },
  });

/**
 * A control call retried while the loaded cluster answers "outcome unknown" or a version
 * conflict (the outcome is read back by the caller's polling; a name conflict means it landed).
 */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= 10) throw err;
      process.stderr.write(`bench: retrying after ${(err as Error).message}\n`);
      await sleep(1_000);
    }
  }
}

/** Polls until `done` holds or the phase times out; returns the seconds it took (or NaN). */
async function timed(
  what: string,
  startMs: number,
  done: () => Promise<boolean>,
  progress: () => Promise<string> | string = () => "",
): Promise<number> {
  const check = () =>
    done().catch((err: Error) => {
      process.stderr.write(`bench: ${what}: ${err.message}\n`);
      return false;
    });
  while (!(await check())) {
    if (Date.now() - startMs > PHASE_TIMEOUT_MS) {
      process.stderr.write(
        `bench: ${what} did not finish within ${PHASE_TIMEOUT_MS / 1_000} s ${await progress()}\n`,
      );
      return Number.NaN;
    }
    await sleep(250);
  }
  return (Date.now() - startMs) / 1_000;
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-orch-bench-"));
  const procs: Proc[] = [];
  let control: Control | undefined;
  let raw: ControlClient | undefined;
  let poll: ControlClient | undefined;
  let toLeader: ControlClient | undefined;
  try {
    // Three managers: the first inits, the others join with the manager token.
    const ports = [await freePort(), await freePort(), await freePort()];
    const addr = (i: number) => `${LOOPBACK}:${ports[i]}`;
    const managerArgs = (i: number) => [
      "--tick-ms",
      String(TICK_MS),
      "--data-dir",
      join(dir, `m${i}`),
      "--listen",
      addr(i),
      "--advertise",
      addr(i),
    ];
    const manager = bundledManager(PROFILE === undefined ? [] : PROFILE.split(" ").filter((f) => f !== ""));
    const leader = await start(manager, [...managerArgs(0), "--init"], join(dir, "m0.log"));
    procs.push(leader);
    const clusterId = String(leader.ready.clusterId);
    const tls = await managerTls(join(dir, "m0"));
    control = new Control(addr(0), tls, clusterId);
    const c = control;
    for (let i = 0; ; i++) {
      try {
        await c.cluster();
        break;
      } catch (err) {
        if (i > 100) throw err;
        await sleep(100);
      }
    }
    // 1,000 nodes need 1,000 node subnets: a /14 in /24s (the default /16 holds 256).
    await c.updateCluster((s) => ({
      ...s,
      allocator: { ...s.allocator!, nodeSubnetPool: "10.40.0.0/14", subnetSize: 24 },
    }));
    raw = new ControlClient(addr(0), createClientCredentials(tls, { clusterId }), {
      ...tlsChannelOptions(),
      "grpc.max_receive_message_length": 512 * 1024 * 1024,
    });
    const tokens = await call<GetJoinTokensResponse>((md, o, cb) => raw!.getJoinTokens({}, md, o, cb));
    // Agents must talk to the leader's dispatcher: after each join, wait for the managers and a
    // leader that holds (one learner at a time, as an operator would add them).
    let leaderAddress = "";
    let stableSince = 0;
    const stable = (count: number) => async () => {
      const res = await call<ListNodesResponse>((md, o, cb) =>
        raw!.listNodes(ListNodesRequest.fromPartial({}), md, o, cb),
      ).catch(() => undefined);
      const managers =
        res?.nodes.filter((n) => n.managerStatus !== undefined && n.managerStatus.raftId !== 0) ?? [];
      const now = managers.find((n) => n.managerStatus?.leader)?.managerStatus?.addr ?? "";
      if (managers.length < count || now === "" || now !== leaderAddress) {
        leaderAddress = now;
        stableSince = Date.now();
        return false;
      }
      return Date.now() - stableSince > 3_000;
    };
    for (const i of [1, 2]) {
      procs.push(
        await start(
          manager,
          [...managerArgs(i), "--join", tokens.joinTokens?.manager ?? "", "--remote", addr(0)],
          join(dir, `m${i}.log`),
        ),
      );
      await timed(`a stable leader of ${i + 1} managers`, Date.now(), stable(i + 1));
    }
    const leaderIndex = ports.findIndex((p) => leaderAddress.endsWith(`:${p}`));
    // Leadership may move during the run (a manager held up on this loaded machine): the leader
    // is looked up again when its memory is read.
    const leaderNow = async () => {
      const res = await call<ListNodesResponse>((md, o, cb) =>
        raw!.listNodes(ListNodesRequest.fromPartial({}), md, o, cb),
      );
      const at = res.nodes.find((n) => n.managerStatus?.leader)?.managerStatus?.addr ?? leaderAddress;
      return procs[ports.findIndex((port) => at.endsWith(`:${port}`))] ?? leader;
    };
    // The progress polls (every 250 ms, each reading up to every task) go to a follower, which
    // answers reads from its replica: they would otherwise cost the leader a core of their own.
    const followerIndex = [0, 1, 2].find((i) => i !== leaderIndex) ?? 0;
    poll = new ControlClient(addr(followerIndex), createClientCredentials(tls, { clusterId }), {
      ...tlsChannelOptions(),
      "grpc.max_receive_message_length": 512 * 1024 * 1024,
    });
    const p = poll;
    toLeader = new ControlClient(
      leaderAddress,
      createClientCredentials(tls, { clusterId }),
      tlsChannelOptions(),
    );
    const l = toLeader;

    // The workers join through the leader's CA, then their agents start in two processes.
    const nodes = await joinWorkers({
      address: leaderAddress,
      rootCertPem: tls.rootCertPem,
      clusterId,
      token: tokens.joinTokens?.worker ?? "",
      count: AGENTS,
    });
    const group = (from: number, to: number): AgentsFile => ({
      address: leaderAddress,
      clusterId,
      rootCertPem: tls.rootCertPem,
      keyPem: nodes[0]?.tls.keyPem ?? "",
      nodes: nodes
        .slice(from, to)
        .map((n, i) => ({ nodeId: n.nodeId, certPem: n.tls.certPem, hostname: `sim-${from + i}` })),
    });
    await writeFile(join(dir, "agents-a.json"), JSON.stringify(group(0, AGENTS - KILLED)));
    await writeFile(join(dir, "agents-b.json"), JSON.stringify(group(AGENTS - KILLED, AGENTS)));
    procs.push(
      await start(
        tsxEntry("test/bench/agents-main.ts"),
        [join(dir, "agents-a.json")],
        join(dir, "agents-a.log"),
      ),
    );
    const doomed = await start(
      tsxEntry("test/bench/agents-main.ts"),
      [join(dir, "agents-b.json")],
      join(dir, "agents-b.log"),
    );
    procs.push(doomed);
    const doomedIds = nodes.slice(AGENTS - KILLED).map((n) => n.nodeId);

    const statuses = async (ids: Set<string>) =>
      (
        await call<ListServiceStatusesResponse>((md, o, cb) =>
          p.listServiceStatuses({ serviceIds: [...ids] }, md, o, cb),
        )
      ).statuses;
    let lastRunning = 0;
    const allRunning = async (ids: Set<string>, expected: number) => {
      const s = await statuses(ids);
      lastRunning = s.reduce((n, x) => n + x.runningTasks, 0);
      return lastRunning >= expected;
    };
    // Where the tasks are, one service at a time (all 100,000 in one answer exceed the 4 MiB
    // message limit), with the first pending reason.
    const seen = async () => {
      const services = await call<ListServiceStatusesResponse>((md, o, cb) =>
        p.listServiceStatuses({ serviceIds: [] }, md, o, cb),
      );
      const by = new Map<string, number>();
      let reason = "";
      for (const { serviceId } of services.statuses) {
        const res = await call<ListTasksResponse>((md, o, cb) =>
          p.listTasks(ListTasksRequest.fromPartial({ filters: { serviceIds: [serviceId] } }), md, o, cb),
        ).catch(() => undefined);
        for (const t of res?.tasks ?? []) {
          const k = `${stateName(t.status?.state ?? TaskState.NEW)}/${stateName(t.desiredState)}`;
          by.set(k, (by.get(k) ?? 0) + 1);
          if (reason === "" && t.status?.state === TaskState.PENDING) reason = t.status.message;
        }
      }
      return `(${lastRunning} running; observed/desired: ${JSON.stringify(Object.fromEntries(by))}; a pending reason: ${reason})`;
    };
    // Every node ready with a subnet before anything is measured.
    await timed("nodes ready", Date.now(), async () => {
      const res = await call<ListNodesResponse>((md, o, cb) =>
        raw!.listNodes(ListNodesRequest.fromPartial({}), md, o, cb),
      );
      return (
        res.nodes.filter((n) => n.status?.state === NodeState.READY && n.containerSubnet !== "").length >=
        AGENTS
      );
    });

    reportFigure("orch_bench_load_average_1m", loadavg()[0] ?? 0, "load");

    // e2e_sim_100k_tasks_s
    const t1 = Date.now();
    const created: Service[] = await Promise.all(
      Array.from({ length: SERVICES }, (_, i) => retried(() => c.createService(spec(`svc-${i}`, REPLICAS)))),
    );
    const ids = new Set(created.map((s) => s.id));
    const total = SERVICES * REPLICAS;
    reportFigure(
      "e2e_sim_100k_tasks_s",
      await timed("100k running", t1, () => allRunning(ids, total), seen),
      "s",
    );
    reportFigure("e2e_sim_tasks", total, "tasks");
    await sleep(5_000); // let the passes settle before reading memory
    reportFigure("leader_rss_mib_100k_tasks", await rssMib((await leaderNow()).child.pid ?? 0), "MiB");

    // reschedule_after_node_down_s
    const t2 = Date.now();
    doomed.child.kill("SIGKILL");
    process.stderr.write(
      `bench: SIGKILL of the ${KILLED}-node agents process at ${t2} (epoch ms, as the logs)\n`,
    );
    // Beside it, when the first and the last killed node were DOWN: the detection's share. Read
    // from the leader (a follower's replica lags by seconds while it answers the polls above).
    const doomedSet = new Set(doomedIds);
    const down = { first: Number.NaN, last: Number.NaN, done: false };
    const watchDown = (async () => {
      while (!down.done && Date.now() - t2 < PHASE_TIMEOUT_MS) {
        const res = await call<ListNodesResponse>((md, o, cb) =>
          l.listNodes(ListNodesRequest.fromPartial({}), md, o, cb),
        ).catch(() => undefined);
        const count =
          res?.nodes.filter((n) => doomedSet.has(n.id) && n.status?.state === NodeState.DOWN).length ?? 0;
        const at = (Date.now() - t2) / 1_000;
        if (count > 0 && Number.isNaN(down.first)) down.first = at;
        if (count >= doomedSet.size) {
          down.last = at;
          return;
        }
        await sleep(250);
      }
    })();
    reportFigure(
      "reschedule_after_node_down_s",
      await timed("the killed nodes' tasks running elsewhere", t2, async () => {
        const res = await call<ListTasksResponse>((md, o, cb) =>
          p.listTasks(
            ListTasksRequest.fromPartial({
              filters: { nodeIds: doomedIds, desiredStates: [TaskState.RUNNING] },
            }),
            md,
            o,
            cb,
          ),
        );
        return res.tasks.length === 0 && (await allRunning(ids, total));
      }),
      "s",
    );
    down.done = true;
    await watchDown;
    // When the leader wrote each DOWN (the store stamps a write when it is proposed, on the
    // leader's clock, this machine's): the polls above see it only once the busy leader answers.
    const killedNodes = (
      await call<ListNodesResponse>((md, o, cb) => l.listNodes(ListNodesRequest.fromPartial({}), md, o, cb))
    ).nodes.filter((n) => doomedSet.has(n.id) && n.status?.state === NodeState.DOWN);
    const written = killedNodes.map((n) => ((n.meta?.updatedAtMs ?? Number.NaN) - t2) / 1_000);
    reportFigure("reschedule_first_node_down_s", Math.min(...written), "s");
    reportFigure("reschedule_down_detected_s", Math.max(...written), "s");
    reportFigure("reschedule_first_node_down_seen_s", down.first, "s");
    reportFigure("reschedule_down_seen_s", down.last, "s");
    reportFigure("reschedule_nodes_killed", KILLED, "nodes");

    // scale_1k_to_10k_s, with the 100,000 tasks above still running
    const scaled = await retried(() => c.createService(spec("scale", 1_000)));
    await timed("1,000 running", Date.now(), () => allRunning(new Set([scaled.id]), 1_000), seen);
    const t0 = Date.now();
    await retried(() =>
      c.updateService(scaled.id, (s) => ({
        ...s,
        mode: { $case: "replicated", value: { replicas: 10_000 } },
      })),
    );
    reportFigure(
      "scale_1k_to_10k_s",
      await timed("10,000 running", t0, () => allRunning(new Set([scaled.id]), 10_000), seen),
      "s",
    );
    reportFigure("orch_bench_load_average_1m", loadavg()[0] ?? 0, "load");
  } finally {
    raw?.close();
    poll?.close();
    toLeader?.close();
    control?.close();
    for (const p of procs.reverse()) p.child.kill("SIGTERM");
    // A profiled process writes its profile as it exits: give it time.
    await sleep(PROFILE === undefined ? 3_000 : 30_000);
    for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    if (process.env.SHOAL_BENCH_KEEP === undefined) await rm(dir, { recursive: true, force: true });
    else process.stderr.write(`bench: kept ${dir}\n`);
  }
}
