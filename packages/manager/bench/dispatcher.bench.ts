// dispatcher_heartbeats_per_s: N simulated agents (SHOAL_BENCH_NODES, default 10,000), each with
// its own certificate and mTLS connection, heartbeating at the period the dispatcher returns
// (1 s ± 10 %), against a dispatcher on an in-memory store in this process, for
// SHOAL_BENCH_SECONDS (10). The agents run in SHOAL_BENCH_AGENT_PROCESSES (4) child processes:
// in one process with the dispatcher they starved it (and each other) and nodes were falsely
// marked DOWN — the simulator's fault, not the dispatcher's.
// dispatcher_process_cpu_share: CPU time of this process (dispatcher, cluster port, store; no
// agents) over wall time while measuring, in cores. SHOAL_BENCH_CPU_PROFILE=file.cpuprofile
// writes a V8 CPU profile of this process over the measuring window (not the set-up);
// SHOAL_BENCH_AGENT_NODE_FLAGS adds node flags to the agents' processes.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { Session as InspectorSession } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { reportFigure, silentLogger } from "@shoal/base";
import { createNodeKeyAndCsr, NodeCertificateProvider, RootCa } from "@shoal/pki";
import { Cluster, Node } from "@shoal/proto";
import { Store } from "@shoal/store";
import { ClusterServer } from "../src/cluster-server.js";
import { Dispatcher } from "../src/dispatcher/dispatcher.js";

const NODES = Number(process.env.SHOAL_BENCH_NODES ?? 10_000);
const SECONDS = Number(process.env.SHOAL_BENCH_SECONDS ?? 10);
const PROCESSES = Number(process.env.SHOAL_BENCH_AGENT_PROCESSES ?? 4);
const CLUSTER = "bench-cluster";
const READY_TIMEOUT_MS = 300_000;
const AGENTS_MAIN = fileURLToPath(new URL("./sim-agents-main.ts", import.meta.url));
const CPU_PROFILE = process.env.SHOAL_BENCH_CPU_PROFILE;
/** Extra node flags for the agents' processes (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"). */
const AGENT_NODE_FLAGS = process.env.SHOAL_BENCH_AGENT_NODE_FLAGS;

interface AgentsSummary {
  periodP50Ms: number;
  heartbeatErrors: number;
  sessions: number;
  loopDelayP99Ms: number;
}

interface AgentProcess {
  ready: Promise<void>;
  /** CPU time the process used so far (user + system), in ms (Linux /proc). */
  cpuMs: () => Promise<number>;
  stop: () => Promise<AgentsSummary>;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

function startAgents(file: string): AgentProcess {
  const flags = AGENT_NODE_FLAGS === undefined ? [] : AGENT_NODE_FLAGS.split(" ").filter((f) => f !== "");
  const child = spawn(
    process.execPath,
    [...flags, "--conditions=shoal-source", "--import", "tsx", AGENTS_MAIN, file],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  // Two lines come from a child: "ready" once every session is open, and the JSON summary on
  // SIGTERM (which may come first, when the run stops at its deadline).
  let out = "";
  let readyNow: () => void = () => {};
  let summaryNow: (line: string) => void = () => {};
  const ready = new Promise<void>((resolve) => {
    readyNow = resolve;
  });
  const summary = new Promise<string>((resolve) => {
    summaryNow = resolve;
  });
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    for (let i = out.indexOf("\n"); i >= 0; i = out.indexOf("\n")) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      if (line === "ready") readyNow();
      else if (line.startsWith("{")) summaryNow(line);
    }
  });
  let gone = false;
  // "close", not "exit": the summary line may still be in the pipe when the process has exited.
  const exited = new Promise<void>((resolve) =>
    child.once("close", () => {
      gone = true;
      summaryNow("{}");
      resolve();
    }),
  );
  return {
    ready: Promise.race([
      ready,
      exited.then(() => {
        throw new Error("simulated agents exited before ready");
      }),
    ]),
    cpuMs: async () => {
      const stat = await readFile(`/proc/${child.pid}/stat`, "utf8").catch(() => "");
      // Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return ((Number(fields[11]) + Number(fields[12])) * 1_000) / USER_HZ;
    },
    stop: async () => {
      if (gone) return { periodP50Ms: 0, heartbeatErrors: 0, sessions: 0, loopDelayP99Ms: 0 };
      child.kill("SIGTERM");
      const line = await summary;
      await exited;
      return JSON.parse(line);
    },
  };
}

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-bench-dispatcher-"));
  const root = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
  // One key for every simulated node: the CA signs each node id into its own certificate.
  const { keyPem, csrPem } = await createNodeKeyAndCsr();
  const certFor = async (nodeId: string, role: "manager" | "worker") =>
    (await root.issueNodeCertificate({ csrPem, nodeId, role, hosts: ["127.0.0.1"], nowMs: Date.now() }))
      .certPem;
  const nodes: { nodeId: string; certPem: string }[] = [];
  for (let i = 0; i < NODES; i++)
    nodes.push({ nodeId: `node-${i}`, certPem: await certFor(`node-${i}`, "worker") });
  process.stderr.write(`dispatcher bench: ${NODES} certificates issued\n`);
  const store = new Store({ logger: silentLogger() });
  await store.update((tx) =>
    tx.clusters.create(Cluster.fromPartial({ id: CLUSTER, spec: { name: "default" } })),
  );
  await store.batch((b) => {
    for (const n of nodes)
      b.update((tx) => tx.nodes.create(Node.fromPartial({ id: n.nodeId, spec: { name: n.nodeId } })));
  });
  const dispatcher = new Dispatcher({ store, logger: silentLogger() });
  const server = await ClusterServer.open({
    listenAddress: "127.0.0.1:0",
    certificates: new NodeCertificateProvider({
      rootCertPem: root.certPem,
      keyPem,
      certPem: await certFor("manager-1", "manager"),
    }),
    clusterId: CLUSTER,
    services: { dispatcher: dispatcher.service() },
  });
  const leadership = new AbortController();
  const serving = dispatcher.run(leadership.signal);
  const agents: AgentProcess[] = [];
  try {
    const per = Math.ceil(NODES / PROCESSES);
    for (let p = 0; p < PROCESSES; p++) {
      const file = join(dir, `agents-${p}.json`);
      await writeFile(
        file,
        JSON.stringify({
          address: `127.0.0.1:${server.port}`,
          clusterId: CLUSTER,
          rootCertPem: root.certPem,
          keyPem,
          nodes: nodes.slice(p * per, (p + 1) * per),
        }),
      );
      agents.push(startAgents(file));
    }
    // Opening thousands of mTLS sessions takes a while on a loaded machine; not forever.
    let timer: NodeJS.Timeout | undefined;
    const openedAt = performance.now();
    const progress = setInterval(() => {
      const s = ((performance.now() - openedAt) / 1_000).toFixed(0);
      process.stderr.write(`dispatcher bench: ${dispatcher.stats.sessions} sessions after ${s} s\n`);
    }, 10_000);
    // Not all open by then (a starved machine): the figures are measured with the sessions that
    // are, and dispatcher_sessions_opened says how many.
    const allOpen = await Promise.race([
      Promise.all(agents.map((a) => a.ready)).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
      }),
    ]).finally(() => {
      clearTimeout(timer);
      clearInterval(progress);
    });
    if (!allOpen)
      process.stderr.write(
        `dispatcher bench: ${NODES} sessions not open after ${READY_TIMEOUT_MS} ms; measuring ${dispatcher.sessionCount}\n`,
      );
    const openS = (performance.now() - openedAt) / 1_000;
    process.stderr.write(`dispatcher bench: ${dispatcher.stats.sessions} sessions open\n`);
    reportFigure("dispatcher_sessions_open_s", openS, "s");
    await new Promise((r) => setTimeout(r, 3_000)); // every agent past its first heartbeats
    const profiler = CPU_PROFILE === undefined ? undefined : new InspectorSession();
    if (profiler !== undefined) {
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.start");
    }
    const before = { ...dispatcher.stats };
    const agentsCpu0 = await Promise.all(agents.map((a) => a.cpuMs()));
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1_000));
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    loopDelay.disable();
    const agentsCpuMs = (await Promise.all(agents.map((a) => a.cpuMs()))).reduce(
      (sum, ms, i) => sum + ms - (agentsCpu0[i] ?? 0),
      0,
    );
    if (profiler !== undefined && CPU_PROFILE !== undefined) {
      const { profile } = await profiler.post("Profiler.stop");
      await writeFile(CPU_PROFILE, JSON.stringify(profile));
      profiler.disconnect();
    }
    const heartbeats = dispatcher.stats.heartbeats - before.heartbeats;
    reportFigure("dispatcher_heartbeats_per_s", (heartbeats * 1_000) / elapsedMs, "1/s");
    reportFigure("dispatcher_nodes", NODES, "nodes");
    reportFigure("dispatcher_process_cpu_share", (cpu.user + cpu.system) / 1_000 / elapsedMs, "cores");
    // What one heartbeat costs the dispatcher's process (TLS, HTTP/2, grpc-js, the handler,
    // the sweeps): less bound to the machine's load than the rate, which the starved agents set.
    reportFigure("dispatcher_cpu_us_per_heartbeat", (cpu.user + cpu.system) / Math.max(1, heartbeats), "us");
    // The kernel's share (socket reads and writes, loopback TCP): what no JavaScript change removes.
    reportFigure("dispatcher_cpu_system_us_per_heartbeat", cpu.system / Math.max(1, heartbeats), "us");
    // How late this process's event loop ran: a dispatcher starved of CPU shows here.
    reportFigure("dispatcher_event_loop_delay_p99_ms", loopDelay.percentile(99) / 1e6, "ms");
    // The simulator's processes together (what the agents' side of the same heartbeats costs).
    reportFigure("dispatcher_agents_cpu_share", agentsCpuMs / elapsedMs, "cores");
    reportFigure("dispatcher_marked_down", dispatcher.stats.markedDown, "nodes");
    reportFigure("dispatcher_sessions_opened", dispatcher.stats.sessions, "sessions");
    reportFigure("dispatcher_sessions_open_at_end", dispatcher.sessionCount, "sessions");
    const summaries = await Promise.all(agents.splice(0).map((a) => a.stop()));
    reportFigure("dispatcher_agent_period_p50_ms", Math.max(...summaries.map((s) => s.periodP50Ms)), "ms");
    reportFigure(
      "dispatcher_agent_heartbeat_errors",
      summaries.reduce((a, s) => a + s.heartbeatErrors, 0),
      "errors",
    );
    reportFigure(
      "dispatcher_agent_loop_delay_p99_ms",
      Math.max(...summaries.map((s) => s.loopDelayP99Ms)),
      "ms",
    );
  } finally {
    await Promise.allSettled(agents.map((a) => a.stop()));
    leadership.abort();
    await serving;
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
