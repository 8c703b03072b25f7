// The embedded resolver as a process of its own, for a node whose daemon does not run it
// in-process (and for tests, where each testkit host is a network namespace):
//   node dns-main.js --desired <file.json> [--port 53] [--upstream ip:port]...
// Reads the desired state `OverlayNetworks.apply` got, re-reads it on SIGHUP, and prints
// "ready <n>" after each (re)load once it listens on every gateway.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { createLogger } from "@shoal/base";
import { DnsResolver } from "./dns-resolver.js";
import { buildDnsView } from "./dns-view.js";
import type { OverlayDesired } from "./overlay-spec.js";

const { values } = parseArgs({
  options: {
    desired: { type: "string" },
    port: { type: "string", default: "53" },
    upstream: { type: "string", multiple: true, default: [] },
  },
});
if (values.desired === undefined) {
  process.stderr.write("error: --desired <file.json> is required\n");
  process.exit(2);
}
const file = values.desired;
const resolver = new DnsResolver({
  port: Number(values.port),
  upstreams: values.upstream,
  logger: createLogger({ name: "shoal-dns" }),
});
let loads = 0;
async function load(): Promise<void> {
  const desired = JSON.parse(await readFile(file, "utf8")) as OverlayDesired;
  await resolver.update(buildDnsView(desired));
  process.stdout.write(`ready ${++loads}\n`);
}
process.on("SIGHUP", () => {
  load().catch((err: unknown) => process.stderr.write(`reload failed: ${String(err)}\n`));
});
process.on("SIGTERM", () => {
  resolver.close();
  process.exit(0);
});
await load();
