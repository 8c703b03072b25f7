// `shoal service logs` end to end (issue 19): one manager (running its nats-server) and two
// workers in testkit hosts, a 3-replica busybox service writing numbered lines on real runc
// containers; each node's agent ships its containers' logs to the manager's JetStream and the CLI
// reads them through the manager daemon's admin socket.
import { spawn } from "node:child_process";
import { waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILT_CLI, startCluster, type TestCluster } from "./support/cluster.js";

let cluster: TestCluster | undefined;

beforeAll(async () => {
  cluster = await startCluster({ managers: 1, workers: 2 });
}, 300_000);

afterAll(async () => {
  await cluster?.destroy();
}, 300_000);

const c = (): TestCluster => {
  if (cluster === undefined) throw new Error("the cluster did not start");
  return cluster;
};

/** 20 lines at once, then one every 2 s: `n1`, `n2`, … */
const NUMBERED = [
  "sh",
  "-c",
  "i=1; while [ $i -le 20 ]; do echo n$i; i=$((i+1)); done; while true; do sleep 2; echo n$i; i=$((i+1)); done",
];

/** task id → the numbers of its lines, in the order printed. */
function numbersByTask(stdout: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of stdout.split("\n")) {
    const m = /^nums\.\d+\.(\w+)@\S+\s+\| n(\d+)$/.exec(line);
    if (m === null) continue;
    const list = out.get(m[1] as string) ?? [];
    list.push(Number(m[2]));
    out.set(m[1] as string, list);
  }
  return out;
}

describe("shoal service logs", () => {
  it("shows every task's numbered lines in order, and -f sees a new one", async () => {
    const m = c().manager;
    await m.shoalOk([
      "service",
      "create",
      "--detach",
      "--name",
      "nums",
      "--replicas",
      "3",
      c().image,
      ...NUMBERED,
    ]);
    const tasks = await c().waitForRunning("nums", 3);
    const ids = tasks.map((t) => t.id.slice(0, 12)).sort();

    const byTask = await waitFor(
      async () => {
        const r = await m.shoal(["service", "logs", "nums"]);
        if (r.code !== 0) throw new Error(`service logs exited ${r.code}: ${r.stderr}`);
        const got = numbersByTask(r.stdout);
        return [...got.keys()].sort().join() === ids.join() && [...got.values()].every((n) => n.length >= 20)
          ? got
          : undefined;
      },
      {
        description: "20 lines of each of the 3 tasks in `service logs`",
        timeoutMs: 180_000,
        intervalMs: 2_000,
      },
    );
    for (const numbers of byTask.values()) {
      // In order, none missing, none twice.
      expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    }

    // -f prints what is stored, then a line written after it started.
    const follow = spawn("node", [BUILT_CLI, "service", "logs", "-f", "nums"], {
      env: { ...process.env, SHOAL_SOCKET: m.socketPath, SHOAL_HOST: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    follow.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    follow.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    try {
      const before = await m.shoalOk(["service", "logs", "nums"]);
      const maxBefore = Math.max(...[...numbersByTask(before).values()].flat());
      await waitFor(
        () => {
          if (follow.exitCode !== null) throw new Error(`service logs -f exited ${follow.exitCode}: ${err}`);
          return [...numbersByTask(out).values()].flat().some((n) => n > maxBefore);
        },
        {
          description: `a line after n${maxBefore} in \`service logs -f\``,
          timeoutMs: 60_000,
          intervalMs: 500,
        },
      );
      for (const numbers of numbersByTask(out).values()) {
        expect(numbers).toEqual(numbers.map((_, i) => i + 1));
      }
    } finally {
      follow.kill("SIGTERM");
    }
  }, 600_000);
});

describe("shoal events", () => {
  it("lists the service's creation and its tasks' state changes", async () => {
    const m = c().manager;
    const out = await waitFor(
      async () => {
        const r = await m.shoal(["events", "--type", "task"]);
        if (r.code !== 0) throw new Error(`events exited ${r.code}: ${r.stderr}`);
        return / task state \w+ \(.*state=running/.test(r.stdout) ? r.stdout : undefined;
      },
      {
        description: "a task reaching running in `shoal events --type task`",
        timeoutMs: 60_000,
        intervalMs: 2_000,
      },
    );
    expect(out).not.toMatch(/ (service|node|leader) /);
    const all = await m.shoalOk(["events"]);
    expect(all).toMatch(/ service create \w+/);
  }, 120_000);
});
