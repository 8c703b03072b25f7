// The quickstart's cluster on this machine: three test hosts (network namespaces on a private
// switch, made by @shoal/testkit) with a `shoal daemon` each — one manager, two workers — and a
// registry host serving a busybox-based demo image. It stays up while this process lives and
// takes everything down (daemons, containers, hosts, registry) when it gets SIGUSR2, which
// `quickstart.sh down` sends. SIGUSR2 rather than SIGTERM: on SIGTERM the testkit's last-resort
// teardown removes the hosts synchronously at once, before the daemons and containers are gone.
//
//   node --import tsx test/support/local-cluster-main.ts STATE_FILE
//
// Once the cluster is ready it writes STATE_FILE (JSON: the manager's admin socket, each node's
// host name and address, the demo image's registry) and keeps running; `quickstart.sh down`
// stops it.
import { rm, writeFile } from "node:fs/promises";
import { startCluster, type TestCluster } from "./cluster.js";

const stateFile = process.argv[2];
if (stateFile === undefined) {
  process.stderr.write("usage: local-cluster-main.ts STATE_FILE\n");
  process.exit(2);
}

let cluster: TestCluster | undefined;
async function stop(code: number): Promise<never> {
  let status = code;
  await cluster?.destroy().catch((err: unknown) => {
    process.stderr.write(`error: the local cluster's teardown failed: ${String(err)}\n`);
    status = 1;
  });
  const left = (await cluster?.leftovers()) ?? [];
  for (const l of left) process.stderr.write(`error: left behind: ${l}\n`);
  await rm(stateFile as string, { force: true });
  process.exit(left.length > 0 ? 1 : status);
}
process.once("SIGUSR2", () => void stop(0));

try {
  cluster = await startCluster({ managers: 1, workers: 2, imagePath: "demo/busybox:latest" });
} catch (err) {
  process.stderr.write(`error: the local cluster did not start: ${String(err)}\n`);
  await stop(1);
}
const c = cluster as TestCluster;
await writeFile(
  stateFile,
  `${JSON.stringify({
    pid: process.pid,
    socket: c.manager.socketPath,
    registry: c.registry.host,
    image: c.image,
    nodes: c.daemons.map((d) => ({
      name: d.name,
      role: d.role,
      address: d.host.address,
      socket: d.socketPath,
    })),
  })}\n`,
);
process.stdout.write("ready\n");
// Alive until a signal: the testkit hosts and daemons belong to this process.
setInterval(() => {}, 1 << 30);
