// Manager processes for the benchmarks: the bundled manager-main on loopback ports, each its own
// process (so a kill -9 is a real crash and the resident set is the manager's alone), and a
// Control client made from a manager's certificate files.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { createClientCredentials, tlsChannelOptions } from "@shoal/pki";
import { ControlClient, type Node, Reachability, ServiceSpec } from "@shoal/proto";
import { readTls } from "../src/node-files.js";

/**
 * manager-main as `shoal daemon` runs it: bundled with the command's build options (one file of
 * packages/cli/dist, see packages/cli/scripts/bundle.ts), not tsc's unbundled output, whose heap
 * holds the text of every module with its comments.
 */
const MAIN = fileURLToPath(new URL("../../cli/dist/manager-main/manager-main.js", import.meta.url));
/** The installed `shoal` command, whose #! line holds the environment and V8 flags of the daemon. */
const SHOAL_BIN = fileURLToPath(new URL("../../cli/bin/shoal.js", import.meta.url));

/**
 * The environment and node flags of the `shoal` #! line (`#!/usr/bin/env -S [NAME=value…] node
 * [flags]`): the bench's managers run with what a manager runs with inside `shoal daemon`, read
 * from there so the two cannot drift apart.
 */
function daemonCommandLine(): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(SHOAL_BIN, "utf8").split("\n", 1)[0] ?? "";
  const m = /^#!\/usr\/bin\/env -S((?: [A-Z_][A-Z0-9_]*=\S*)*) node((?: --\S+)*)$/.exec(first);
  if (m === null)
    throw new Error(
      `${SHOAL_BIN}: its first line "${first}" is not "#!/usr/bin/env -S [NAME=value…] node [flags]"`,
    );
  const words = (s: string | undefined) => (s ?? "").split(" ").filter((w) => w !== "");
  const env = Object.fromEntries(
    words(m[1]).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)]),
  );
  return { env, flags: words(m[2]) };
}

export interface BenchManager {
  dataDir: string;
  address: string;
  child: ChildProcess;
  nodeId: string;
  clusterId: string;
  exited: Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts manager-main and resolves on its ready line. It runs with the daemon's node flags
 * (daemonCommandLine), then `nodeFlags` (V8 flags; a later one wins).
 */
export function startManager(
  dataDir: string,
  address: string,
  mode: { init: true } | { join: string; remote: string } | { open: true },
  nodeFlags: readonly string[] = [],
): Promise<BenchManager> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} missing: run \`npm run build -w @shoal/cli\` first`);
  const daemon = daemonCommandLine();
  const args = [
    ...daemon.flags,
    ...nodeFlags,
    MAIN,
    "--data-dir",
    dataDir,
    "--listen",
    address,
    "--advertise",
    address,
  ];
  if ("init" in mode) args.push("--init");
  if ("join" in mode) args.push("--join", mode.join, "--remote", mode.remote);
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...daemon.env },
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.includes('"ready":true'));
      if (line === undefined) return;
      const ready = JSON.parse(line) as { nodeId: string; clusterId: string };
      resolve({ dataDir, address, child, nodeId: ready.nodeId, clusterId: ready.clusterId, exited });
    });
    void exited.then(() => reject(new Error(`manager-main exited before ready:\n${err}`)));
  });
}

export async function kill(m: BenchManager, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill(signal);
  await m.exited;
}

/** The resident set of a process, MiB (from /proc). */
export function rssMib(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

export async function control(address: string, dataDir: string, clusterId: string): Promise<ControlClient> {
  return new ControlClient(address, createClientCredentials(await readTls(dataDir), { clusterId }), {
    ...tlsChannelOptions(),
    "grpc.use_local_subchannel_pool": 1,
  });
}

export function call<T>(client: grpc.Client, method: string, req: unknown, timeoutMs = 2_000): Promise<T> {
  const fn = (client as unknown as Record<string, unknown>)[method] as (
    r: unknown,
    md: grpc.Metadata,
    o: grpc.CallOptions,
    cb: (e: grpc.ServiceError | null, v: T) => void,
  ) => void;
  return new Promise((resolve, reject) =>
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (e, v) =>
      e ? reject(e) : resolve(v),
    ),
  );
}

export const serviceSpec = (name: string) =>
  ServiceSpec.fromPartial({
    name,
    mode: { $case: "replicated", value: { replicas: 0 } },
    taskTemplate: { container: { image: "nginx:1.27" } },
  });

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The leader's node id once every one of `count` managers is a reachable voter, as the leader says. */
export async function allReachable(client: ControlClient, count: number): Promise<string | undefined> {
  const { nodes } = await call<{ nodes: Node[] }>(client, "listNodes", {});
  const managers = nodes.filter((n) => n.managerStatus?.reachability === Reachability.REACHABLE);
  const leader = nodes.find((n) => n.managerStatus?.leader)?.id;
  return managers.length === count && leader !== undefined ? leader : undefined;
}
