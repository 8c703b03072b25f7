// The orchestrators inside a real manager (issue 15): Manager.init + run in a temp data dir, the
// control API over its cluster port with mutual TLS, and worker nodes that joined with the
// worker token and hold dispatcher sessions as simulated agents (real gRPC, real certificates,
// the real dispatcher protocol; a no-op executor). Each case drives the cluster as a user would
// and waits for the store to say what the orchestrators made of it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@shoal/base";
import { Manager, SimulatedAgents, type SimulatedNode } from "@shoal/manager";
import {
  NodeAvailability,
  NodeRole,
  NodeState,
  RestartCondition,
  ServiceSpec,
  type Task,
  TaskState,
} from "@shoal/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managerTls } from "../support/managers.js";
import { Control, isRunning, joinWorkers, until } from "./cluster-client.js";

const LOOPBACK = "127.0.0.1";
const HEARTBEAT_MS = 1_000;
const HISTORY_LIMIT = 3;
const logger = silentLogger();

let dir: string;
let manager: Manager;
let stopManager: () => Promise<void>;
let control: Control;
let address: string;
let token: string;
let rootCertPem: string;
/** Services whose tasks the simulated agents report FAILED instead of RUNNING. */
const failing = new Set<string>();
const fleets: SimulatedAgents[] = [];
let base: SimulatedNode[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-orch-it-"));
  manager = await Manager.init(
    {
      dataDir: dir,
      listenAddress: `${LOOPBACK}:0`,
      advertiseAddress: `${LOOPBACK}:4270`,
      logger,
      raft: { tickMs: 20 },
    },
    { clusterName: "orch-it" },
  );
  const stop = new AbortController();
  const running = manager.run(stop.signal);
  stopManager = async () => {
    stop.abort();
    await running;
    await manager.close();
  };
  await until("the cluster object", () => manager.store.view((tx) => tx.clusters.count()) > 0);
  address = `${LOOPBACK}:${manager.port}`;
  const tls = await managerTls(dir);
  rootCertPem = tls.rootCertPem;
  control = new Control(address, tls, manager.identity.clusterId);
  await control.updateCluster((spec) => ({
    ...spec,
    dispatcher: { ...spec.dispatcher, heartbeatPeriodMs: HEARTBEAT_MS },
    orchestration: { ...spec.orchestration, taskHistoryRetentionLimit: HISTORY_LIMIT },
  }));
  token = await control.workerToken();
  base = await joinNodes("base", 8);
  await fleet(base);
}, 120_000);

afterAll(async () => {
  for (const f of fleets) f.close();
  control?.close();
  await stopManager?.();
  await rm(dir, { recursive: true, force: true });
});

/** Joins `count` worker nodes with hostnames `<name>-<i>`. */
function joinNodes(
  name: string,
  count: number,
  labels: Record<string, string> = {},
): Promise<SimulatedNode[]> {
  return joinWorkers({
    address,
    rootCertPem,
    clusterId: manager.identity.clusterId,
    token,
    count,
    description: (i) => ({
      hostname: `${name}-${i}`,
      platform: { architecture: "x86_64", os: "linux" },
      resources: { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30, pids: 0, generic: [] },
      engine: { engineVersion: "sim", labels, plugins: [] },
      addresses: [],
    }),
  });
}

/** Opens the nodes' sessions and waits until the manager has them READY with a subnet. */
async function fleet(nodes: SimulatedNode[]): Promise<SimulatedAgents> {
  const sim = await SimulatedAgents.open({
    address,
    clusterId: manager.identity.clusterId,
    nodes,
    logger,
    failTask: (t) => failing.has(t.serviceId),
  });
  fleets.push(sim);
  await until("the nodes ready with a container subnet", () =>
    manager.store.view((tx) =>
      nodes.every((n) => {
        const node = tx.nodes.get(n.nodeId);
        return node?.status?.state === NodeState.READY && node.containerSubnet !== "";
      }),
    ),
  );
  return sim;
}

type Mode = NonNullable<ServiceSpec["mode"]>;
const replicated = (replicas: number): Mode => ({ $case: "replicated", value: { replicas } });

/** A busybox service spec; `template` adds to the task template. */
const spec = (
  name: string,
  mode: Mode,
  template: Partial<NonNullable<ServiceSpec["taskTemplate"]>> = {},
): ServiceSpec =>
  ServiceSpec.fromPartial({ name, mode, taskTemplate: { container: { image: "busybox" }, ...template } });

const running = (tasks: Task[]) => tasks.filter(isRunning);
const live = (t: Task) => t.desiredState <= TaskState.RUNNING;
const stateName = new Map<number, string>(Object.entries(TaskState).map(([k, v]) => [v, k]));
/** Task counts by observed/desired state, for a timeout's message. */
const summary = (tasks: Task[]) => {
  const by = new Map<string, number>();
  for (const t of tasks) {
    const k = `${stateName.get(t.status?.state ?? 0)}/${stateName.get(t.desiredState)}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(by));
};

describe("orchestrators in a manager with simulated agents", () => {
  it("scales a replicated service 1 → 1,000 → 10", async () => {
    const s = await control.createService(spec("scale", replicated(1)));
    let tasks: Task[] = [];
    const runningCount = (n: number) => async () => {
      tasks = await control.tasks([s.id]);
      return running(tasks).length === n && tasks.filter(live).length === n;
    };
    await until("1 running", runningCount(1), { describe: () => summary(tasks) });

    await control.updateService(s.id, (sp) => ({ ...sp, mode: replicated(1_000) }));
    await until("1,000 running", runningCount(1_000), {
      timeoutMs: 180_000,
      everyMs: 500,
      describe: () => summary(tasks),
    });
    const slots = new Set(running(tasks).map((t) => t.slot));
    expect(slots.size).toBe(1_000);
    expect(Math.min(...slots)).toBe(1);
    expect(Math.max(...slots)).toBe(1_000);
    // Spread over the eight nodes, every address granted once.
    const perNode = new Map<string, number>();
    for (const t of running(tasks)) perNode.set(t.nodeId, (perNode.get(t.nodeId) ?? 0) + 1);
    expect(perNode.size).toBe(8);
    for (const n of perNode.values()) expect(n).toBe(125);
    expect(new Set(running(tasks).map((t) => t.address)).size).toBe(1_000);

    await control.updateService(s.id, (sp) => ({ ...sp, mode: replicated(10) }));
    await until(
      "10 running, the rest shut down",
      async () => {
        tasks = await control.tasks([s.id]);
        return (
          running(tasks).length === 10 &&
          tasks.filter((t) => !live(t) && t.status?.state === TaskState.SHUTDOWN).length === 990
        );
      },
      { timeoutMs: 120_000, everyMs: 500, describe: () => summary(tasks) },
    );
    // The highest slots went first.
    expect(
      running(tasks)
        .map((t) => t.slot)
        .sort((a, b) => a - b),
    ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  }, 360_000);

  it("runs a global service on every ready node, on a node that joins, and not on a drained one", async () => {
    const s = await control.createService(spec("everywhere", { $case: "global", value: {} }));
    let tasks: Task[] = [];
    const readyWorkers = () =>
      manager.store.view((tx) =>
        tx.nodes
          .list()
          .filter(
            (n) =>
              n.status?.state === NodeState.READY &&
              n.spec?.availability === NodeAvailability.ACTIVE &&
              n.role === NodeRole.WORKER,
          )
          .map((n) => n.id)
          .sort(),
      );
    const onEvery = (nodeIds: () => string[]) => async () => {
      tasks = await control.tasks([s.id]);
      const ids = running(tasks)
        .map((t) => t.nodeId)
        .sort();
      return JSON.stringify(ids) === JSON.stringify(nodeIds()) && tasks.filter(live).length === ids.length;
    };
    await until("one task on each ready worker", onEvery(readyWorkers), { describe: () => summary(tasks) });
    const before = readyWorkers().length;

    const [joined] = await joinNodes("late", 1);
    await fleet([joined!]);
    await until("the joined node has its task", onEvery(readyWorkers), { describe: () => summary(tasks) });
    expect(running(tasks).some((t) => t.nodeId === joined!.nodeId)).toBe(true);
    expect(running(tasks).length).toBe(before + 1);

    await control.setAvailability(joined!.nodeId, NodeAvailability.DRAIN);
    await until(
      "the drained node's task shut down",
      async () => {
        tasks = await control.tasks([s.id]);
        const there = tasks.filter((t) => t.nodeId === joined!.nodeId);
        return (
          there.every((t) => !live(t) && t.status?.state === TaskState.SHUTDOWN) &&
          running(tasks).length === before
        );
      },
      { describe: () => summary(tasks) },
    );
    expect(tasks.filter(live).some((t) => t.nodeId === joined!.nodeId)).toBe(false);
  }, 120_000);

  it("runs a killed node's tasks elsewhere", async () => {
    const doomed = await joinNodes("doomed", 2);
    const sim = await fleet(doomed);
    const s = await control.createService(spec("survivor", replicated(40)));
    let tasks: Task[] = [];
    await until(
      "40 running",
      async () => {
        tasks = await control.tasks([s.id]);
        return running(tasks).length === 40;
      },
      { describe: () => summary(tasks) },
    );
    const doomedIds = new Set(doomed.map((n) => n.nodeId));
    const lost = running(tasks).filter((t) => doomedIds.has(t.nodeId));
    expect(lost.length).toBeGreaterThan(0); // spread put some there

    sim.close(); // the agents stop: no heartbeats, no sessions
    await until(
      "40 running on the nodes still up",
      async () => {
        tasks = await control.tasks([s.id]);
        const r = running(tasks);
        return r.length === 40 && r.every((t) => !doomedIds.has(t.nodeId));
      },
      { timeoutMs: 60_000, describe: () => summary(tasks) },
    );
    const down = manager.store.view((tx) => doomed.map((n) => tx.nodes.get(n.nodeId)?.status?.state));
    expect(down).toEqual([NodeState.DOWN, NodeState.DOWN]);
    // The lost tasks keep desired SHUTDOWN, so the node stops them if it ever comes back; their
    // slots run again elsewhere.
    for (const t of lost) {
      const now = tasks.find((x) => x.id === t.id);
      expect(now?.desiredState).toBe(TaskState.SHUTDOWN);
      expect(running(tasks).some((x) => x.slot === t.slot)).toBe(true);
    }
  }, 120_000);

  it("restarts a failing task after the delay, at most max attempts times", async () => {
    const DELAY_MS = 400;
    const s = await control.createService(
      spec("crashy", replicated(1), {
        restartPolicy: {
          condition: RestartCondition.ON_FAILURE,
          delayMs: DELAY_MS,
          maxAttempts: 2,
          windowMs: 0,
        },
      }),
    );
    failing.add(s.id);
    let tasks: Task[] = [];
    await until(
      "the first task and two restarts failed",
      async () => {
        tasks = await control.tasks([s.id]);
        return tasks.length === 3 && tasks.every((t) => t.status?.state === TaskState.FAILED);
      },
      { describe: () => summary(tasks) },
    );
    // No fourth attempt: wait well past another delay and look again.
    await new Promise((r) => setTimeout(r, 5 * DELAY_MS));
    tasks = await control.tasks([s.id]);
    expect(tasks.length).toBe(3);
    expect(tasks.every((t) => t.slot === 1)).toBe(true);
    const ordered = [...tasks].sort((a, b) => (a.meta?.createdAtMs ?? 0) - (b.meta?.createdAtMs ?? 0));
    for (let i = 1; i < ordered.length; i++) {
      const prev = ordered[i - 1]!;
      const next = ordered[i]!;
      // Each replacement was held until the delay after its predecessor's failure had passed…
      expect(next.restartAtMs).toBeGreaterThanOrEqual((prev.status?.timestampMs ?? 0) + DELAY_MS);
      // …and the agent was only told to start it afterwards.
      expect(next.status?.timestampMs ?? 0).toBeGreaterThanOrEqual(next.restartAtMs);
    }
    expect(ordered[2]?.restartHistoryMs.length).toBe(2);
    failing.delete(s.id);
  }, 120_000);

  it("keeps only the task history limit of finished tasks per slot", async () => {
    const s = await control.createService(
      spec("flappy", replicated(2), {
        restartPolicy: { condition: RestartCondition.ANY, delayMs: 50, maxAttempts: 0, windowMs: 0 },
      }),
    );
    failing.add(s.id);
    const seen = new Set<string>();
    let tasks: Task[] = [];
    let worst = 0;
    await until(
      "ten attempts per slot",
      async () => {
        tasks = await control.tasks([s.id]);
        for (const t of tasks) seen.add(t.id);
        for (const slot of [1, 2]) {
          const finished = tasks.filter((t) => t.slot === slot && (t.status?.state ?? 0) > TaskState.RUNNING);
          worst = Math.max(worst, finished.length);
        }
        return seen.size >= 20;
      },
      { everyMs: 50, describe: () => `${seen.size} tasks seen; ${summary(tasks)}` },
    );
    failing.delete(s.id);
    await until(
      "both slots running again",
      async () => {
        tasks = await control.tasks([s.id]);
        return running(tasks).length === 2;
      },
      { describe: () => summary(tasks) },
    );
    await until(
      "the history trimmed to the limit",
      async () => {
        tasks = await control.tasks([s.id]);
        return [1, 2].every(
          (slot) => tasks.filter((t) => t.slot === slot && !live(t)).length === HISTORY_LIMIT,
        );
      },
      { describe: () => summary(tasks) },
    );
    // Between passes the reaper may lag a commit behind, never more than the one just ended.
    expect(worst).toBeLessThanOrEqual(HISTORY_LIMIT + 1);
    for (const slot of [1, 2]) expect(tasks.filter((t) => t.slot === slot).length).toBe(HISTORY_LIMIT + 1);
  }, 120_000);

  it("shows why a task cannot be placed through the control API", async () => {
    const s = await control.createService(
      spec("nowhere", replicated(1), {
        placement: {
          constraints: ["node.labels.zone==mars"],
          preferences: [],
          platforms: [],
          maxReplicasPerNode: 0,
        },
      }),
    );
    let tasks: Task[] = [];
    await until(
      "a pending reason",
      async () => {
        tasks = await control.tasks([s.id]);
        // The scheduler's reason, not the "pending task scheduling" the task is created with.
        return (
          tasks[0]?.status?.state === TaskState.PENDING &&
          /^no suitable node/.test(tasks[0]?.status?.message ?? "")
        );
      },
      { describe: () => summary(tasks) },
    );
    const message = tasks[0]?.status?.message ?? "";
    expect(message).toMatch(/^no suitable node \(/);
    // The eight base nodes fail the constraint; the killed and drained ones take nothing new.
    expect(message).toContain("scheduling constraints not satisfied on 8 nodes");
  }, 60_000);
});
