// The commands in-process against a real grpc-js server (test/fake-cluster.ts) on a unix socket
// in a temp dir: what each command sends, what it prints, and its exit code.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  NodeAvailability,
  NodeRole,
  PortProtocol,
  PublishMode,
  type ServiceSpec,
  UpdateFailureAction,
  UpdateOrder,
  UpdateState,
} from "@shoal/proto";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import type { CliIo } from "../src/io.js";
import { runCli } from "../src/program.js";
import { type FakeCluster, startFakeCluster } from "./fake-cluster.js";

const dir = mkdtempSync(join(tmpdir(), "shoal-cli-cmd-"));
let fake: FakeCluster;
let socket = "";
let n = 0;

afterAll(async () => {
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await fake?.close();
  socket = join(dir, `s${n++}.sock`);
  fake = await startFakeCluster({ socketPath: socket });
});

async function shoal(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { SHOAL_SOCKET: socket },
    cwd: dir,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const request = (method: string) => fake.calls.filter((c) => c.method === method).map((c) => c.request);

describe("connection and errors", () => {
  it("exits 3 with a hint when no daemon listens on the socket", async () => {
    await fake.close();
    rmSync(socket, { force: true });
    const r = await shoal("node", "ls");
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`^error: cannot reach shoal at unix://${socket}: `));
    expect(r.stderr).toContain("hint: is the daemon running");
  });

  it("maps the server's shoal-code to the message, a hint and the exit code", async () => {
    const missing = await shoal("service", "inspect", "nope");
    expect(missing).toMatchObject({ code: 4, stdout: "" });
    expect(missing.stderr).toBe('error: service "nope" not found\nhint: list what exists with `ls`\n');

    fake.failNext(
      "listNodes",
      grpc.status.FAILED_PRECONDITION,
      "this node is not a manager",
      "MANAGER_NOT_MANAGER",
    );
    const notManager = await shoal("node", "ls");
    expect(notManager.code).toBe(8);
    expect(notManager.stderr).toBe(
      "error: this node is not a manager\nhint: run this on a manager node, or point --host at a manager\n",
    );

    fake.failNext("listNodes", grpc.status.INTERNAL, "disk on fire");
    const internal = await shoal("--debug", "node", "ls");
    expect(internal.code).toBe(1);
    expect(internal.stderr).toContain("error: disk on fire\ncode: CLI_REMOTE\n");
  });

  it("passes prefixes and names through for the server to resolve; ambiguity is the server's error", async () => {
    await shoal("service", "create", "-d", "--name", "web", "nginx");
    await shoal("service", "create", "-d", "--name", "api", "nginx");
    const r = await shoal("service", "inspect", "svc");
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      'error: service prefix "svc" is ambiguous\nhint: give more characters of the id, or the full name\n',
    );
    expect(request("getService").at(-1)).toMatchObject({ serviceId: "svc" });
  });
});

describe("shoal cluster", () => {
  it("init talks to the admin API and prints the join command", async () => {
    const r = await shoal("cluster", "init", "--advertise-addr", "10.0.0.1:4270");
    expect(r.code).toBe(0);
    expect(request("initCluster")).toEqual([
      { listenAddr: "", advertiseAddr: "10.0.0.1:4270", spec: undefined, forceNewCluster: false },
    ]);
    expect(r.stdout).toBe(
      "Cluster initialized: current node (node1managerxxxxxxxxxxxxx) is now a manager.\n\n" +
        "To add a worker to this cluster, run the following command:\n\n" +
        "    shoal cluster join --token SHTKN-1-digest-worker 10.0.0.1:4270\n\n" +
        "To add a manager to this cluster, run 'shoal cluster join-token manager' and follow the instructions.\n",
    );
  });

  it("init, join and leave refuse a TCP --host: only the local daemon can do them", async () => {
    const r = await shoal("--host", "10.0.0.1", "cluster", "init");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: "shoal cluster init" works on the local daemon only, not on --host 10.0.0.1\nhint: run it on the node itself (as root, for the admin socket)\n',
    );
    expect(fake.calls).toEqual([]);
  });

  it("join, leave", async () => {
    const join = await shoal("cluster", "join", "--token", "SHTKN-1-x", "10.0.0.1:4270");
    expect(join).toMatchObject({ code: 0, stdout: "This node joined a cluster as a worker.\n" });
    expect(request("joinCluster")[0]).toMatchObject({
      remoteAddr: "10.0.0.1:4270",
      joinToken: "SHTKN-1-x",
      availability: NodeAvailability.ACTIVE,
    });
    expect((await shoal("cluster", "leave", "--force")).stdout).toBe("Node left the cluster.\n");
    expect(request("leaveCluster")).toEqual([{ force: true }]);
  });

  it("join-token prints the command, -q only the token, --rotate rotates", async () => {
    const r = await shoal("cluster", "join-token", "worker");
    expect(r.stdout).toBe(
      "To add a worker to this cluster, run the following command:\n\n    shoal cluster join --token SHTKN-1-digest-worker 10.0.0.1:4270\n",
    );
    expect((await shoal("cluster", "join-token", "-q", "manager")).stdout).toBe("SHTKN-1-digest-manager\n");
    const rotated = await shoal("cluster", "join-token", "--rotate", "-q", "worker");
    expect(rotated.stdout).toBe("SHTKN-1-digest-worker2\n");
    expect(request("rotateJoinToken")).toEqual([{ role: NodeRole.WORKER }]);
    expect((await shoal("cluster", "join-token", "admin")).code).toBe(2);
  });

  it("inspect leaves the join tokens and key out; update sends the version it read", async () => {
    const r = await shoal("cluster", "inspect");
    const cluster = JSON.parse(r.stdout);
    expect(cluster.id).toBe("clusterxxxxxxxxxxxxxxxxxx");
    expect(r.stdout).not.toContain("SHTKN");
    expect(cluster.rootCa.caKey).toBeUndefined();
    const updated = await shoal("cluster", "update", "--task-history-limit", "10");
    expect(updated.stderr).toBe("");
    expect(updated.stdout).toBe("Cluster updated.\n");
    expect(request("updateCluster")[0]).toMatchObject({
      clusterVersion: 1,
      spec: { orchestration: { taskHistoryRetentionLimit: 10 } },
    });
  });
});

describe("shoal node", () => {
  it("ls prints docker's columns, JSON, and ids", async () => {
    const r = await shoal("node", "ls");
    expect(r.stdout).toBe(
      "ID                           HOSTNAME  STATUS  AVAILABILITY  MANAGER STATUS  ENGINE VERSION\n" +
        "node1managerxxxxxxxxxxxxx *  host-a    Ready   Active        Leader          0.1.0\n" +
        "node2workerxxxxxxxxxxxxxx    host-b    Ready   Active                        0.1.0\n",
    );
    const json = JSON.parse((await shoal("node", "ls", "--format", "json")).stdout);
    expect(json.map((x: { description: { hostname: string } }) => x.description.hostname)).toEqual([
      "host-a",
      "host-b",
    ]);
    expect((await shoal("node", "ls", "-q")).stdout).toBe(
      "node1managerxxxxxxxxxxxxx\nnode2workerxxxxxxxxxxxxxx\n",
    );
  });

  it("update --availability and labels, with the version read", async () => {
    const r = await shoal(
      "node",
      "update",
      "--availability",
      "drain",
      "--label-add",
      "disk=ssd",
      "--label-rm",
      "zone",
      "node2",
    );
    expect(r).toMatchObject({ code: 0, stdout: "node2workerxxxxxxxxxxxxxx\n" });
    expect(request("getNode")).toEqual([{ nodeId: "node2" }]);
    expect(request("updateNode")[0]).toMatchObject({
      nodeId: "node2workerxxxxxxxxxxxxxx",
      nodeVersion: 1,
      spec: { availability: NodeAvailability.DRAIN, labels: { disk: "ssd" } },
    });
    const bad = await shoal("node", "update", "--availability", "off", "node2");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: --availability "off": must be one of active, pause, drain\n');
  });

  it("promote, demote, rm", async () => {
    const promoted = await shoal("node", "promote", "host-b");
    expect(promoted.stderr).toBe("");
    expect(promoted.stdout).toBe("Node node2workerx promoted to a manager in the cluster.\n");
    expect(request("updateNode")[0]).toMatchObject({ spec: { desiredRole: NodeRole.MANAGER } });
    expect((await shoal("node", "demote", "host-b")).stdout).toBe(
      "Node node2workerx demoted in the cluster.\n",
    );
    expect((await shoal("node", "rm", "-f", "host-b")).stdout).toBe("host-b\n");
    expect(request("removeNode")).toEqual([{ nodeId: "host-b", force: true }]);
    const inspect = await shoal("node", "inspect", "node1");
    expect(JSON.parse(inspect.stdout)[0].id).toBe("node1managerxxxxxxxxxxxxx");
  });
});

describe("shoal service", () => {
  it("create sends the spec from the flags and waits for convergence like docker", async () => {
    const r = await shoal(
      "service",
      "create",
      "--name",
      "web",
      "--replicas",
      "2",
      "-p",
      "8080:80",
      "-e",
      "A=1",
      "--update-monitor",
      "300ms",
      "--reserve-memory",
      "64M",
      "nginx:1.27",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const spec = (request("createService")[0] as { spec: ServiceSpec }).spec;
    expect(spec).toMatchObject({
      name: "web",
      mode: { $case: "replicated", value: { replicas: 2 } },
      endpointSpec: {
        ports: [
          {
            targetPort: 80,
            publishedPort: 8080,
            protocol: PortProtocol.TCP,
            publishMode: PublishMode.INGRESS,
          },
        ],
      },
      taskTemplate: {
        container: { image: "nginx:1.27", env: ["A=1"] },
        resources: { reservations: { memoryBytes: 64 * 1024 * 1024 } },
      },
      updateConfig: { monitorMs: 300 },
    });
    const [id, ...progress] = r.stdout.trimEnd().split("\n");
    expect(id).toBe(fake.services[0]?.id);
    expect(progress[0]).toBe("overall progress: 2 out of 2 tasks");
    expect(progress[1]).toMatch(/^1\/2: running {3}\[=+>\]$/);
    expect(progress[2]).toMatch(/^2\/2: running {3}\[=+>\]$/);
    expect(progress.at(-1)).toBe("verify: Service converged");
  });

  it("create refuses a bad flag before calling the manager (exit 2)", async () => {
    const r = await shoal("service", "create", "--limit-memory", "1M", "nginx");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: --limit-memory: 1MiB is below the 4MiB minimum\nhint: fix the options named above\n",
    );
    expect(fake.calls).toEqual([]);
  });

  it("exits 9 and prints each failed task's error when the service does not converge", async () => {
    fake.rejectImages.set("nope:1", 'pull "nope:1": manifest unknown');
    const r = await shoal("service", "create", "--name", "bad", "nope:1");
    expect(r.code).toBe(9);
    expect(r.stdout).toContain("overall progress: 0 out of 1 tasks\n");
    expect(r.stderr).toBe(
      'error: service "bad" did not converge: tasks failed 3 times\n' +
        '  bad.1: rejected: pull "nope:1": manifest unknown\n'.repeat(3) +
        "hint: see `shoal service ps --no-trunc bad`; the service keeps trying unless you update or remove it\n",
    );
    const ps = await shoal("service", "ps", "--no-trunc", "bad");
    expect(ps.stdout).toContain('"pull "nope:1": manifest unknown"');
    expect(ps.stdout.split("\n")[0]).toMatch(
      /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR +PORTS$/,
    );
  });

  it("-d returns at once; -q prints only the id", async () => {
    const r = await shoal("service", "create", "-d", "--name", "web", "nginx");
    expect(r.stdout).toBe(`${fake.services[0]?.id}\n`);
    expect(fake.methods()).toEqual(["createService"]);
  });

  it("ls, ps, inspect", async () => {
    await shoal("service", "create", "-d", "--name", "web", "--replicas", "2", "-p", "8080:80", "nginx:1");
    await shoal("service", "create", "-d", "--name", "agent", "--mode", "global", "busybox");
    const ls = await shoal("service", "ls");
    const [webId, agentId] = [fake.services[0]?.id.slice(0, 12), fake.services[1]?.id.slice(0, 12)];
    expect(ls.stdout).toBe(
      "ID            NAME   MODE        REPLICAS  IMAGE    PORTS\n" +
        `${agentId}  agent  global      2/2       busybox\n` +
        `${webId}  web    replicated  2/2       nginx:1  *:8080->80/tcp\n`,
    );
    expect((await shoal("service", "ls", "-q")).stdout.split("\n").filter(Boolean)).toHaveLength(2);
    const ps = await shoal("service", "ps", "web");
    const lines = ps.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      /^\w{12} +web\.1 +nginx:1 +host-a +Running +Running (Less than a second|\d+ seconds?) ago$/,
    );
    expect(lines[2]).toMatch(/ web\.2 +nginx:1 +host-b /);
    const first = fake.tasks.find((t) => t.slot === 1);
    if (first?.status?.containerStatus !== undefined) first.status.containerStatus.health = "healthy";
    else if (first?.status !== undefined)
      first.status.containerStatus = { containerId: "c1", pid: 1, exitCode: 0, health: "healthy" };
    expect((await shoal("service", "ps", "web")).stdout).toMatch(
      / web\.1 +nginx:1 +host-a +Running +Running \(healthy\) /,
    );
    const inspect = JSON.parse((await shoal("service", "inspect", "web")).stdout);
    expect(inspect[0].spec.name).toBe("web");
  });

  it("scale sets the replicas and waits; update applies -add/-rm flags to the current spec", async () => {
    await shoal(
      "service",
      "create",
      "-d",
      "--name",
      "web",
      "--update-monitor",
      "0s",
      "-e",
      "A=1",
      "-e",
      "B=2",
      "nginx:1",
    );
    const scale = await shoal("service", "scale", "web=3");
    expect(scale.code).toBe(0);
    expect(scale.stdout).toMatch(
      /^web scaled to 3\noverall progress: 3 out of 3 tasks\n(.*\n){3}verify: Service converged\n$/,
    );
    expect(request("updateService")[0]).toMatchObject({
      serviceVersion: 1,
      spec: { mode: { value: { replicas: 3 } } },
    });

    const update = await shoal(
      "service",
      "update",
      "-q",
      "--image",
      "nginx:2",
      "--env-add",
      "C=3",
      "--env-rm",
      "A",
      "web",
    );
    expect(update).toMatchObject({ code: 0, stdout: "web\n" });
    expect(request("updateService")[1]).toMatchObject({
      serviceVersion: 2,
      rollback: false,
      spec: {
        taskTemplate: { container: { image: "nginx:2", env: ["B=2", "C=3"] } },
        mode: { value: { replicas: 3 } },
      },
    });
    const rollback = await shoal("service", "rollback", "-d", "web");
    expect(rollback.stdout).toBe("web\n");
    expect(request("updateService")[2]).toMatchObject({ rollback: true });
    expect((await shoal("service", "scale", "web")).code).toBe(2);
  });

  it("update exits 9 saying why when the update paused or rolled back (docker/cli#373)", async () => {
    await shoal("service", "create", "-d", "--name", "web", "--update-monitor", "0s", "nginx:1");
    fake.updateOutcomes.set("nginx:bad", {
      state: UpdateState.ROLLBACK_COMPLETED,
      message: "update rolled back due to failure or early termination of task t9 (unhealthy)",
    });
    const bad = await shoal(
      "service",
      "update",
      "-q",
      "--image",
      "nginx:bad",
      "--update-failure-action",
      "rollback",
      "--update-order",
      "start-first",
      "--update-parallelism",
      "2",
      "web",
    );
    expect(bad.code).toBe(9);
    expect(bad.stderr).toContain(
      'error: service "web" did not converge: update rolled back: update rolled back due to failure or early termination of task t9 (unhealthy)',
    );
    expect(request("updateService")[0]).toMatchObject({
      spec: {
        taskTemplate: { container: { image: "nginx:bad" } },
        updateConfig: {
          failureAction: UpdateFailureAction.ROLLBACK,
          order: UpdateOrder.START_FIRST,
          parallelism: 2,
        },
      },
    });

    fake.updateOutcomes.set("nginx:3", {
      state: UpdateState.PAUSED,
      message: "update paused due to failure or early termination of task t4 (failed (exit 1): boom)",
    });
    const paused = await shoal("service", "update", "-q", "--image", "nginx:3", "web");
    expect(paused.code).toBe(9);
    expect(paused.stderr).toContain(
      "update paused: update paused due to failure or early termination of task t4",
    );

    // A rollback the user asks for is the goal: it waits for it and exits 0.
    const rollback = await shoal("service", "rollback", "-q", "web");
    expect(rollback).toMatchObject({ code: 0, stdout: "web\n" });
    const forced = await shoal("service", "update", "-q", "--force", "web");
    expect(forced.code).toBe(0);
    expect(request("updateService").at(-1)).toMatchObject({ spec: { taskTemplate: { forceUpdate: 1 } } });

    // --detach returns once the manager took the spec, without waiting for the roll's outcome.
    fake.updateOutcomes.set("nginx:4", { state: UpdateState.PAUSED, message: "update paused due to …" });
    const detached = await shoal("service", "update", "--detach", "--image", "nginx:4", "web");
    expect(detached).toMatchObject({ code: 0, stdout: "web\n" });
  });

  it("rm, and logs refuses a bad --tail or --since before it calls", async () => {
    await shoal("service", "create", "-d", "--name", "web", "nginx");
    expect((await shoal("service", "rm", "web")).stdout).toBe("web\n");
    expect(fake.services).toEqual([]);
    const tail = await shoal("service", "logs", "--tail", "x", "web");
    expect(tail.code).toBe(2);
    expect(tail.stderr).toContain('--tail "x": must be a number of lines or "all"');
    const since = await shoal("service", "logs", "--since", "yesterday-ish", "web");
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since "yesterday-ish" is not a time');
  });
});

describe("shoal stack", () => {
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return name;
  };

  it("deploy creates networks, secrets and configs, then services; a redeploy updates only what changed; --prune; rm", async () => {
    writeFileSync(join(dir, "key.txt"), "s3cret");
    const v1 = file(
      "v1.yml",
      [
        'version: "3.8"',
        "services:",
        "  web: {image: 'nginx:1', deploy: {replicas: 2, update_config: {monitor: 0s}}, secrets: [key]}",
        "  db: {image: 'postgres:16', deploy: {update_config: {monitor: 0s}}}",
        "secrets:",
        "  key: {file: ./key.txt}",
        "",
      ].join("\n"),
    );
    const r = await shoal("stack", "deploy", "-c", v1, "shop");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Creating network shop_default\nCreating secret shop_key\nCreating service shop_db\nCreating service shop_web\nshop_db\noverall progress: 1 out of 1 tasks\n.*\nverify: Service converged\nshop_web\noverall progress: 2 out of 2 tasks\n/,
    );
    expect(
      new TextDecoder().decode((request("createSecret")[0] as { spec: { data: Uint8Array } }).spec.data),
    ).toBe("s3cret");

    expect((await shoal("stack", "ls")).stdout).toBe("NAME  SERVICES\nshop  2\n");
    expect((await shoal("stack", "services", "shop")).stdout).toMatch(
      /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS\n\w+ +shop_db .*\n\w+ +shop_web +replicated +2\/2 +nginx:1\n$/,
    );
    expect((await shoal("stack", "ps", "-q", "shop")).stdout.trim().split("\n")).toHaveLength(3);

    const again = await shoal("stack", "deploy", "-d", "-c", v1, "shop");
    expect(again.stdout).toBe("Stack shop is up to date.\n");

    const v2 = file(
      "v2.yml",
      [
        'version: "3.8"',
        "services:",
        "  web: {image: 'nginx:2', deploy: {replicas: 2, update_config: {monitor: 0s}}, secrets: [key]}",
        "secrets:",
        "  key: {file: ./key.txt}",
        "",
      ].join("\n"),
    );
    const changed = await shoal("stack", "deploy", "-d", "-c", v2, "--prune", "shop");
    expect(changed.stdout).toBe(
      `Updating service shop_web (id: ${fake.services.find((s) => s.spec?.name === "shop_web")?.id})\nRemoving service shop_db\n`,
    );

    await shoal("service", "create", "-d", "--name", "unrelated", "busybox");
    const rm = await shoal("stack", "rm", "shop");
    expect(rm.stdout).toBe(
      "Removing service shop_web\nRemoving secret shop_key\nRemoving network shop_default\n",
    );
    expect(fake.services.map((s) => s.spec?.name)).toEqual(["unrelated"]);
    expect((await shoal("stack", "rm", "shop")).stderr).toBe(
      "error: nothing found in stack: shop\nhint: `shoal stack ls` lists the stacks\n",
    );
  });
});

describe("shoal secret / config", () => {
  it("create, ls, inspect (never the data), rm", async () => {
    writeFileSync(join(dir, "pw.txt"), "hunter2");
    const created = await shoal("secret", "create", "-l", "env=prod", "db_pw", "pw.txt");
    expect(created.stdout).toBe(`${fake.secrets[0]?.id}\n`);
    expect(request("createSecret")[0]).toMatchObject({ spec: { name: "db_pw", labels: { env: "prod" } } });
    const ls = await shoal("secret", "ls");
    expect(ls.stdout).toMatch(
      /^ID +NAME +CREATED +UPDATED\n\w+ +db_pw +(Less than a second|\d+ seconds?) ago +.* ago\n$/,
    );
    const inspect = await shoal("secret", "inspect", "db_pw");
    expect(JSON.parse(inspect.stdout)[0].spec).toEqual({ name: "db_pw", labels: { env: "prod" } });
    expect((await shoal("secret", "rm", "db_pw")).stdout).toBe("db_pw\n");

    await shoal("config", "create", "nginx_conf", "pw.txt");
    expect(JSON.parse((await shoal("config", "ls", "--format", "json")).stdout)[0].spec.name).toBe(
      "nginx_conf",
    );
    const missing = await shoal("config", "create", "x", "missing.txt");
    expect(missing.code).toBe(4);
  });
});

describe("service create arguments", () => {
  it("passes what follows the image to the command, dashes included (docker's rule)", async () => {
    const r = await shoal(
      "service",
      "create",
      "-d",
      "--name",
      "web",
      "nginx:1.27",
      "nginx",
      "-g",
      "daemon off;",
    );
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(request("createService")[0]).toMatchObject({
      spec: { taskTemplate: { container: { args: ["nginx", "-g", "daemon off;"] } } },
    });
    const json = await shoal("--format", "json", "service", "create", "-d", "--name", "api", "busybox");
    expect(JSON.parse(json.stdout).spec.name).toBe("api");
  });
});

describe("progress on a terminal", () => {
  it("redraws the frame in place and ends with the converged frame", async () => {
    let stdout = "";
    const io: CliIo = {
      stdout: Object.assign({ write: (t: string) => (stdout += t) }, { isTTY: true }),
      stderr: { write: () => {} },
      env: { SHOAL_SOCKET: socket },
      cwd: dir,
    };
    const code = await runCli(
      ["service", "create", "--name", "web", "--update-monitor", "600ms", "nginx"],
      io,
    );
    expect(code).toBe(0);
    // Three lines per frame (overall, the task, verify) are erased before the next one is drawn.
    expect(stdout).toContain("\u001b[3A\u001b[J");
    expect(stdout.split("\u001b[3A\u001b[J").at(-1)).toMatch(
      /^overall progress: 1 out of 1 tasks\n1\/1: running {3}\[=+>\]\nverify: Service converged\n$/,
    );
  });
});
