// One process of simulated agents for the dispatcher benchmark (heartbeat-only, `heartbeat-agents.ts`),
// so the agents do not starve the dispatcher they measure (and the dispatcher's process CPU is its own):
//   node --conditions=shoal-source --import tsx bench/sim-agents-main.ts <nodes.json>
// nodes.json: { address, clusterId, rootCertPem, keyPem, nodes: [{ nodeId, certPem }] }.
// Prints `ready` once every session is open; on SIGTERM prints one JSON line of what the
// agents saw (heartbeat periods p50, heartbeat errors, sessions opened, this process's event-loop
// delay p99) and exits.
import { readFile } from "node:fs/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { percentile } from "@shoal/base";
import { HeartbeatAgents } from "./heartbeat-agents.js";

interface AgentsFile {
  address: string;
  clusterId: string;
  rootCertPem: string;
  keyPem: string;
  nodes: { nodeId: string; certPem: string }[];
}

const file = JSON.parse(await readFile(process.argv[2] as string, "utf8")) as AgentsFile;
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
const agents = new HeartbeatAgents({
  address: file.address,
  rootCertPem: file.rootCertPem,
  keyPem: file.keyPem,
  nodes: file.nodes,
});
// Registered before the sessions are open: a run stopped at its deadline still gets a summary.
process.once("SIGTERM", () => {
  const summary = {
    periodP50Ms: percentile(
      agents.agents.flatMap((a) => a.periods),
      50,
    ),
    heartbeatErrors: agents.agents.reduce((n, a) => n + a.heartbeatErrors, 0),
    sessions: agents.agents.reduce((n, a) => n + a.sessions, 0),
    // This process's own lateness: a simulator that cannot keep up shows here, not as the dispatcher's.
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
  };
  agents.close();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
});
await agents.openAll();
process.stdout.write("ready\n");
process.stderr.write(`agents: ${file.nodes.length} sessions open\n`);
