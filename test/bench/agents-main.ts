// A process of simulated agents for the orchestrator benches: reads the nodes (id and
// certificate, one shared key) from the JSON file named by its first argument, opens their
// dispatcher sessions against the manager named there, prints `{"ready":true}` once every
// session is open, and runs until killed (SIGKILL is how a bench makes these nodes fail).
import { readFile } from "node:fs/promises";
import { silentLogger } from "@shoal/base";
import { SimulatedAgents } from "@shoal/manager";

export interface AgentsFile {
  address: string;
  clusterId: string;
  rootCertPem: string;
  keyPem: string;
  nodes: { nodeId: string; certPem: string; hostname: string }[];
}

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: agents-main <agents.json>\n");
  process.exit(2);
}
const spec = JSON.parse(await readFile(file, "utf8")) as AgentsFile;
const nodes = spec.nodes.map((n) => ({
  nodeId: n.nodeId,
  tls: { rootCertPem: spec.rootCertPem, keyPem: spec.keyPem, certPem: n.certPem },
  description: {
    hostname: n.hostname,
    platform: { architecture: "x86_64", os: "linux" },
    resources: { nanoCpus: 8e9, memoryBytes: 32 * 2 ** 30, pids: 0, generic: [] },
    addresses: [],
  },
}));
// In groups of 50, each opened again if a session fails (a loaded manager may not write the
// node's READY within its deadline), as agents reconnect.
const GROUP = 50;
const sims: SimulatedAgents[] = [];
for (let i = 0; i < nodes.length; i += GROUP) {
  for (let attempt = 1; ; attempt++) {
    try {
      sims.push(
        await SimulatedAgents.open({
          address: spec.address,
          clusterId: spec.clusterId,
          logger: silentLogger(),
          nodes: nodes.slice(i, i + GROUP),
        }),
      );
      break;
    } catch (err) {
      if (attempt >= 10) throw err;
      process.stderr.write(`agents: group ${i / GROUP} failed to open (${(err as Error).message}); again\n`);
      await new Promise((r) => setTimeout(r, 1_000 * attempt));
    }
  }
}
process.stdout.write(`${JSON.stringify({ ready: true, nodes: spec.nodes.length })}\n`);
for (const signal of ["SIGTERM", "SIGINT"] as const)
  process.once(signal, () => {
    for (const sim of sims) sim.close();
    process.exit(0);
  });
