// The agent on real runc: an agent process (fixtures/agent-node.ts) with the real RuntimeEngine,
// talking mTLS gRPC to a test dispatcher in this process, pulling the busybox fixture image from a
// loopback registry with basic auth sent with the task. Needs root (runc, overlayfs, cgroups).
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@shoal/base";
import {
  AssignmentAction,
  MountType,
  PortProtocol,
  type Node as ProtoNode,
  Node as ProtoNodeCodec,
  PublishMode,
  type Task,
  Task as TaskCodec,
  TaskState,
  type TaskStatus,
  taskStateToJSON,
} from "@shoal/proto";
import { ContainerRuntime, createRunner, LocalImageStore, NodeNetwork } from "@shoal/runtime";
import { buildBusyboxImage, startRegistry, type TestRegistry, writeOciLayout } from "@shoal/runtime/testing";
import { createHosts, type TempDir, type TestHost, tempDir, waitFor } from "@shoal/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_ID, type FileItem, nodeMaterial, TestDispatcher, testPki } from "./dispatcher-server.js";
import type { AgentNodeConfig } from "./fixtures/agent-node.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/agent-node.ts", import.meta.url));
const NODE_ID = "runcnode00000000000000001";

let registry: TestRegistry;
let image: string;
let pki: Awaited<ReturnType<typeof testPki>>;
let work: TempDir;

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error("the agent's runc tests need root (runc, overlayfs, cgroups)");
  work = await tempDir("agent-runc-");
  registry = await startRegistry({ auth: "basic" });
  // Seed the registry: the busybox fixture imported into a scratch store, pushed with credentials.
  const seeder = new LocalImageStore({
    root: join(work.path, "seed"),
    registries: { [registry.host]: registry.hostConfig(true) },
  });
  await seeder.open();
  const layout = join(work.path, "layout");
  await writeOciLayout(await buildBusyboxImage("one-layer"), layout, "fixtures/busybox:1");
  await seeder.importImage(layout);
  image = `${registry.host}/fixtures/busybox:1`;
  await seeder.push("fixtures/busybox:1", image);
  pki = await testPki(NODE_ID);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  await work?.remove();
});

interface Node {
  config: AgentNodeConfig;
  /** Replaced when a test brings a manager back. */
  dispatcher: TestDispatcher;
  tasks: Map<string, Task>;
  /** Secrets and configs of the COMPLETE sets. */
  files: FileItem[];
  /** The node object the session messages carry. */
  node?: ProtoNode;
  child?: ChildProcess;
}
const nodes: Node[] = [];

afterEach(async () => {
  for (const n of nodes.splice(0)) await cleanUp(n);
});

/** Kills the agent, removes its containers and cgroups, and its node network if it had one. */
async function cleanUp(n: Node): Promise<void> {
  await killChild(n.child);
  n.dispatcher.kill();
  await removeEverything(n.config);
  if (n.config.network !== undefined) {
    const { netnsPath, ...rest } = n.config.network;
    const net = await NodeNetwork.open({
      ...rest,
      subnet: rest.subnet ?? n.node?.containerSubnet ?? "",
      stateDir: join(n.config.dataDir, "network"),
      runner: createRunner(netnsPath),
      logger: silentLogger(),
    });
    await net.destroy();
  }
}

let counter = 0;
async function newNode(network?: AgentNodeConfig["network"]): Promise<Node> {
  const tasks = new Map<string, Task>();
  const files: FileItem[] = [];
  let holder: Node | undefined;
  const dispatcher = await TestDispatcher.start({
    root: pki.root,
    nodeId: "manager1",
    heartbeatPeriodMs: 500,
    tasks: () => [...tasks.values()],
    files: () => files,
    node: () => holder?.node,
  });
  const dataDir = join(work.path, `node${++counter}`);
  const config: AgentNodeConfig = {
    dataDir,
    nodeId: NODE_ID,
    cgroupParent: `/shoal-agent-test-${process.pid}-${counter}`,
    runcRoot: join(dataDir, "runc"),
    registryHost: registry.host,
    dispatcher: dispatcher.addr,
    clusterId: CLUSTER_ID,
    tls: await nodeMaterial(pki.root, NODE_ID, "worker"),
    ...(network === undefined ? {} : { network }),
  };
  const node: Node = { config, dispatcher, tasks, files };
  holder = node;
  nodes.push(node);
  return node;
}

async function startAgent(node: Node): Promise<void> {
  await mkdir(node.config.dataDir, { recursive: true });
  const path = join(node.config.dataDir, "..", `config-${counter}.json`);
  await writeFile(path, JSON.stringify(node.config));
  const child = spawn(process.execPath, ["--conditions=shoal-source", "--import", "tsx", FIXTURE, path], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  node.child = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`agent process exited with ${code} before it was ready`)));
  });
}

async function killChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/** Removes every container the node's runtime holds and its cgroup parent (the agent is dead). */
async function removeEverything(config: AgentNodeConfig): Promise<void> {
  const rt = await ContainerRuntime.open({
    root: join(config.dataDir, "containers"),
    runcRoot: config.runcRoot,
    cgroupParent: config.cgroupParent,
    nodeId: config.nodeId,
    images: { acquire: async () => ({}) as never, release: async () => undefined },
    logger: silentLogger(),
  });
  try {
    for (const c of await rt.list()) await rt.remove(c.id);
  } finally {
    await rt.close();
  }
  await waitFor(async () => removeCgroupDirs(config.cgroupParent), {
    description: `cgroup parent ${config.cgroupParent} removed (conmon monitors gone)`,
    timeoutMs: 10_000,
  });
}

async function removeCgroupDirs(parent: string): Promise<boolean> {
  let allGone = true;
  for (const h of await readdir("/sys/fs/cgroup")) {
    const dir = join("/sys/fs/cgroup", h, parent);
    allGone = (await rmdirTree(dir)) && allGone;
  }
  return allGone;
}

async function rmdirTree(dir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR")
      return true;
    throw err;
  }
  let ok = true;
  for (const e of entries) ok = (await rmdirTree(join(dir, e))) && ok;
  try {
    await rmdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EBUSY") return false;
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  return ok;
}

function assign(node: Node, task: Task): void {
  node.tasks.set(task.id, task);
  node.dispatcher.push([
    { action: AssignmentAction.UPDATE, assignment: { item: { $case: "task", value: task } } },
  ]);
}

let taskCounter = 0;
function task(
  slot: number,
  container: Partial<NonNullable<NonNullable<Task["spec"]>["container"]>>,
  over: Partial<Task> = {},
): Task {
  const id = `task${String(++taskCounter).padStart(21, "0")}`;
  return TaskCodec.fromPartial({
    id,
    name: `web.${slot}.${id}`,
    serviceId: "service00000000000000000a",
    slot,
    nodeId: NODE_ID,
    desiredState: TaskState.RUNNING,
    meta: { version: 1 },
    status: { state: TaskState.ASSIGNED },
    registryAuth: { username: registry.username, password: registry.password },
    spec: { container: { image, ...container } },
    ...over,
  });
}

/** Every status the dispatcher got for a task, in order. */
function statuses(node: Node, id: string): TaskStatus[] {
  return node.dispatcher.updates.filter((u) => u.taskId === id).flatMap((u) => (u.status ? [u.status] : []));
}
const states = (node: Node, id: string) =>
  statuses(node, id).map((s) => taskStateToJSON(s.state).replace("TASK_STATE_", ""));
const last = (node: Node, id: string) => statuses(node, id).at(-1);
async function until(node: Node, id: string, state: TaskState, timeoutMs = 30_000): Promise<TaskStatus> {
  return waitFor(() => (last(node, id)?.state === state ? last(node, id) : undefined), {
    description: `task ${id} reported ${taskStateToJSON(state)} (so far: ${states(node, id).join(" → ")})`,
    timeoutMs,
  });
}

describe("agent on runc", () => {
  it("walks tasks to RUNNING and COMPLETE or FAILED, rejects a missing image with the registry's error", async () => {
    const node = await newNode();
    await startAgent(node);
    // The hostname template must be expanded, or the task fails.
    const ok = task(1, {
      hostname: "{{.Service.Name}}-{{.Task.Slot}}",
      command: ["sh", "-c", 'test "$(hostname)" = web-1 && sleep 2'],
    });
    const bad = task(2, { command: ["sh", "-c", "exit 3"] });
    const missing = task(3, { image: `${registry.host}/fixtures/nope:1` });
    for (const t of [ok, bad, missing]) assign(node, t);
    await until(node, ok.id, TaskState.COMPLETE);
    expect(states(node, ok.id)).toContain("RUNNING");
    expect(last(node, ok.id)?.containerStatus?.exitCode).toBe(0);
    const failed = await until(node, bad.id, TaskState.FAILED);
    expect(failed.err).toBe("task: non-zero exit (3)");
    expect(failed.containerStatus?.exitCode).toBe(3);
    const rejected = await until(node, missing.id, TaskState.REJECTED);
    expect(rejected.err).toMatch(/nope/);
    expect(states(node, missing.id)).not.toContain("STARTING");
  });

  it("reports RUNNING only once the health check passes", async () => {
    const node = await newNode();
    await startAgent(node);
    const t = task(1, {
      command: ["sh", "-c", "sleep 2; touch /tmp/ok; sleep 1000"],
      healthcheck: { test: ["CMD-SHELL", "test -f /tmp/ok"], intervalMs: 200, timeoutMs: 2000, retries: 50 },
    });
    assign(node, t);
    const running = await until(node, t.id, TaskState.RUNNING);
    const starting = statuses(node, t.id).find((s) => s.state === TaskState.STARTING);
    expect(starting).toBeDefined();
    // /tmp/ok appears 2 s after the start: RUNNING cannot have been decided before that.
    expect(running.timestampMs - (starting?.timestampMs ?? 0)).toBeGreaterThanOrEqual(1500);
  });

  it("stops with the stop signal and waits the grace period, then SIGKILLs", async () => {
    const node = await newNode();
    await startAgent(node);
    const graceful = task(1, {
      command: ["sh", "-c", "trap 'sleep 1; exit 9' TERM; while true; do sleep 0.1; done"],
      stopGracePeriodMs: 10_000,
    });
    const stubborn = task(2, {
      command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"],
      stopGracePeriodMs: 500,
    });
    for (const t of [graceful, stubborn]) assign(node, t);
    await until(node, graceful.id, TaskState.RUNNING);
    await until(node, stubborn.id, TaskState.RUNNING);
    for (const t of [graceful, stubborn])
      assign(node, {
        ...t,
        desiredState: TaskState.SHUTDOWN,
        meta: { version: 2, createdAtMs: 0, updatedAtMs: 0 },
      });
    expect((await until(node, graceful.id, TaskState.SHUTDOWN)).containerStatus?.exitCode).toBe(9);
    expect((await until(node, stubborn.id, TaskState.SHUTDOWN)).containerStatus?.exitCode).toBe(137);
  });

  it("keeps tasks running while no manager answers, and re-reports them when one is back", async () => {
    const node = await newNode();
    await startAgent(node);
    const t = task(1, { command: ["sleep", "1000"] });
    assign(node, t);
    const before = await until(node, t.id, TaskState.RUNNING);
    const port = Number(node.dispatcher.addr.split(":")[1]);
    node.dispatcher.kill();
    await new Promise((r) => setTimeout(r, 3000));
    const back = await TestDispatcher.start({
      root: pki.root,
      nodeId: "manager1",
      heartbeatPeriodMs: 500,
      tasks: () => [...node.tasks.values()],
      port,
    });
    node.dispatcher = back;
    const again = await until(node, t.id, TaskState.RUNNING);
    expect(again.containerStatus?.pid).toBe(before.containerStatus?.pid);
  });

  it("a restarted agent re-adopts its running container, learns an exit, and starts no duplicate", async () => {
    const node = await newNode();
    const signals = join(node.config.dataDir, "..", `signals-${counter}`);
    // Not made here: the mount's createMountpoint makes "<signals>/2" (after template expansion).
    await startAgent(node);
    const long = task(1, { command: ["sleep", "1000"] });
    const waiter = task(2, {
      command: ["sh", "-c", "while [ ! -f /signal/go ]; do sleep 0.1; done; exit 4"],
      mounts: [
        {
          type: MountType.BIND,
          source: `${signals}/{{.Task.Slot}}`,
          target: "/signal",
          readOnly: true,
          bindOptions: { propagation: 0, nonRecursive: false, createMountpoint: true },
        },
      ],
    });
    for (const t of [long, waiter]) assign(node, t);
    const before = await until(node, long.id, TaskState.RUNNING);
    await until(node, waiter.id, TaskState.RUNNING);
    await killChild(node.child);
    // While no agent runs, one container ends.
    await writeFile(join(signals, "2", "go"), "");
    await new Promise((r) => setTimeout(r, 1000));
    const reportsBefore = node.dispatcher.updates.length;
    await startAgent(node);
    const exited = await until(node, waiter.id, TaskState.FAILED);
    expect(exited.containerStatus?.exitCode).toBe(4);
    // The running one is re-reported (new session) with the same process: re-adopted, not restarted.
    await waitFor(() => node.dispatcher.updates.slice(reportsBefore).some((u) => u.taskId === long.id), {
      description: "the long task re-reported after the restart",
    });
    const after = last(node, long.id);
    expect(after?.state).toBe(TaskState.RUNNING);
    expect(after?.containerStatus?.pid).toBe(before.containerStatus?.pid);
    expect(states(node, long.id).filter((s) => s === "STARTING")).toHaveLength(1);
  });

  it("applies cap_add/cap_drop, read_only, init, sysctls, ulimits and security_opt from the spec", async () => {
    const node = await newNode();
    await startAgent(node);
    // Each check exits with its own code, so a failure names what did not apply.
    const checks = [
      // CAP_KILL (bit 5) and CAP_NET_BIND_SERVICE (bit 10) only.
      `grep -qx "CapEff:.0000000000000420" /proc/self/status || exit 11`,
      "(touch /written) 2>/dev/null && exit 12",
      // PID 1 is the init, this shell its child.
      `tr "\\0" " " < /proc/1/cmdline | grep -q "^/sbin/shoal-init -- " || exit 13`,
      `test "$(ulimit -n)" = 512 || exit 14`,
      `test "$(cat /proc/sys/kernel/shmmni)" = 2048 || exit 15`,
      "grep -qx 'NoNewPrivs:.0' /proc/self/status || exit 16",
      "grep -qx 'Seccomp:.0' /proc/self/status || exit 17",
      "exit 0",
    ];
    const hardened = task(1, {
      command: ["sh", "-c", checks.join("; ")],
      capDrop: ["ALL"],
      capAdd: ["KILL", "NET_BIND_SERVICE"],
      readOnly: true,
      init: true,
      sysctls: { "kernel.shmmni": "2048" },
      ulimits: [{ name: "nofile", soft: 512, hard: 1024 }],
      securityOpt: ["seccomp=unconfined", "no-new-privileges=false", "apparmor=unconfined"],
    });
    // The runtime's defaults without them: the default seccomp filter, no-new-privileges, no init.
    const plain = task(2, {
      command: [
        "sh",
        "-c",
        "grep -qx 'Seccomp:.2' /proc/self/status && grep -qx 'NoNewPrivs:.1' /proc/self/status && test $$ = 1",
      ],
    });
    const refused = task(3, { securityOpt: ["seccomp=relative.json"] });
    for (const t of [hardened, plain, refused]) assign(node, t);
    const done = await waitFor(
      () => {
        const s = last(node, hardened.id);
        return s !== undefined && s.state >= TaskState.COMPLETE ? s : undefined;
      },
      { description: "the hardened task ended", timeoutMs: 30_000 },
    );
    expect(done.containerStatus?.exitCode).toBe(0);
    expect(done.state).toBe(TaskState.COMPLETE);
    expect((await until(node, plain.id, TaskState.COMPLETE)).containerStatus?.exitCode).toBe(0);
    const rejected = await until(node, refused.id, TaskState.REJECTED);
    expect(rejected.err).toBe('security_opt[0] "seccomp=relative.json" cannot be applied');
  });

  it("mounts the task's secrets and configs from the assignment, kept off the disk", async () => {
    const node = await newNode();
    const secretValue = `pw-${process.pid}-${Date.now()}`;
    node.files.push(
      {
        $case: "secret",
        value: {
          id: "secret00000000000000000001",
          meta: undefined,
          spec: { name: "db_password", labels: {}, data: Buffer.from(secretValue) },
        },
      },
      {
        $case: "config",
        value: {
          id: "config00000000000000000001",
          meta: undefined,
          spec: { name: "app_conf", labels: {}, data: Buffer.from("port=80\n") },
        },
      },
    );
    await startAgent(node);
    const script = [
      // By digest: the value itself must not be in the task (the records would hold it).
      `test "$(md5sum < /run/secrets/db_password)" = "${createHash("md5").update(secretValue).digest("hex")}  -" || exit 11`,
      `test "$(stat -c '%u %g %a' /run/secrets/db_password)" = "1000 1000 400" || exit 12`,
      `test "$(cat /etc/app.conf)" = port=80 || exit 13`,
      `test "$(stat -c '%u %g %a' /etc/app.conf)" = "0 0 444" || exit 14`,
      "(echo x > /etc/app.conf) 2>/dev/null && exit 15",
      "touch /tmp/ready; sleep 1000",
    ].join("; ");
    const t = task(1, {
      command: ["sh", "-c", script],
      secrets: [
        {
          secretId: "secret00000000000000000001",
          secretName: "db_password",
          file: { name: "db_password", uid: "1000", gid: "1000", mode: 0o400 },
        },
      ],
      configs: [
        {
          configId: "config00000000000000000001",
          configName: "app_conf",
          file: { name: "/etc/app.conf", uid: "0", gid: "0", mode: 0 },
        },
      ],
      healthcheck: {
        test: ["CMD-SHELL", "test -f /tmp/ready"],
        intervalMs: 200,
        timeoutMs: 2000,
        retries: 50,
      },
    });
    assign(node, t);
    const running = await until(node, t.id, TaskState.RUNNING);
    expect(running.containerStatus?.health).toBe("healthy");
    // On the node the bytes are on the container's tmpfs only: nothing on the data dir's own
    // filesystem holds them (find -xdev does not enter the tmpfs or the overlay).
    const onDisk = execFileSync(
      "sh",
      ["-c", `find "${node.config.dataDir}" -xdev -type f -exec grep -l -- "${secretValue}" {} + || true`],
      { encoding: "utf8" },
    );
    expect(onDisk).toBe("");
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(`/containers/${t.id}/files `));
    expect(mounts).toHaveLength(1);
    expect(mounts[0]).toMatch(/ - tmpfs /);
    assign(node, {
      ...t,
      desiredState: TaskState.REMOVE,
      meta: { version: 2, createdAtMs: 0, updatedAtMs: 0 },
    });
    await until(node, t.id, TaskState.SHUTDOWN);
    await waitFor(() => !readFileSync("/proc/self/mountinfo", "utf8").includes(`/containers/${t.id}/`), {
      description: "the task's file tmpfs unmounted with its container",
    });
  });

  it("puts the node network on the manager's subnet and gives a task the address the manager chose", async () => {
    const hosts = await createHosts(1);
    try {
      const [h1] = hosts.all as [TestHost];
      // No subnet configured: it comes with the session's node object, as the allocator carved it.
      const node = await newNode({
        netnsPath: h1.netnsPath,
        netnsPrefix: `shoal-ags${process.pid}-`,
        vethPrefix: "sb",
        chainPrefix: "SHAGS",
      });
      node.node = ProtoNodeCodec.fromPartial({ id: NODE_ID, containerSubnet: "10.88.10.0/24" });
      await startAgent(node);
      const check = (ip: string) => [
        "sh",
        "-c",
        `ip -4 addr show eth0 | grep -q "inet ${ip}/24" || exit 11; ip route | grep -q "default via 10.88.10.1" || exit 12`,
      ];
      const chosen = task(1, { command: check("10.88.10.77") }, { address: "10.88.10.77/24" });
      // Without an address from the manager the node's IPAM picks one of the same subnet (the first).
      const picked = task(2, { command: check("10.88.10.2") });
      assign(node, chosen);
      expect((await until(node, chosen.id, TaskState.COMPLETE)).containerStatus?.exitCode).toBe(0);
      assign(node, picked);
      expect((await until(node, picked.id, TaskState.COMPLETE)).containerStatus?.exitCode).toBe(0);
      // The bridge carries the subnet's gateway in the host's namespace.
      const addr = await h1.exec("ip", ["-4", "addr", "show", "dev", "shoal0"]);
      expect(addr.stdout).toContain("inet 10.88.10.1/24");
    } finally {
      for (const n of nodes.splice(0)) await cleanUp(n);
      await hosts.destroy();
    }
  }, 120_000);

  it("publishes a host-mode port on the node's network and reports the port", async () => {
    const hosts = await createHosts(2);
    try {
      const [h1, h2] = hosts.all as [TestHost, TestHost];
      const node = await newNode({
        netnsPath: h1.netnsPath,
        subnet: "10.88.9.0/24",
        netnsPrefix: `shoal-agt${process.pid}-`,
        vethPrefix: "sa",
        chainPrefix: "SHAGT",
      });
      await startAgent(node);
      const web = task(
        1,
        { command: ["httpd", "-f", "-p", "80", "-h", "/var/www"] },
        {
          endpoint: {
            spec: undefined,
            virtualIps: [],
            ports: [
              {
                name: "",
                protocol: PortProtocol.TCP,
                targetPort: 80,
                publishedPort: 8080,
                publishMode: PublishMode.HOST,
              },
            ],
          },
        },
      );
      assign(node, web);
      const running = await until(node, web.id, TaskState.RUNNING);
      expect(running.portStatus?.ports.map((p) => [p.targetPort, p.publishedPort])).toEqual([[80, 8080]]);
      const script = `fetch("http://${h1.address}:8080/", { signal: AbortSignal.timeout(3000) }).then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(String(e.cause ?? e)); process.exit(1); })`;
      const body = await waitFor(
        async () => {
          const r = await h2.exec("node", ["-e", script], { timeoutMs: 10_000 });
          return r.code === 0 ? r.stdout : undefined;
        },
        { description: `GET http://${h1.address}:8080/ from ${h2.name}` },
      );
      expect(body.length).toBeGreaterThan(0);
      // Removal detaches: no namespace of this node is left.
      assign(node, {
        ...web,
        desiredState: TaskState.REMOVE,
        meta: { version: 2, createdAtMs: 0, updatedAtMs: 0 },
      });
      await until(node, web.id, TaskState.SHUTDOWN);
      await waitFor(
        async () => !(await readdir("/run/netns")).some((n) => n.startsWith(`shoal-agt${process.pid}-`)),
        {
          description: "the task's network namespace removed",
        },
      );
    } finally {
      // Before the hosts go: the node network lives in h1's namespace.
      for (const n of nodes.splice(0)) await cleanUp(n);
      await hosts.destroy();
    }
  }, 120_000);
});
