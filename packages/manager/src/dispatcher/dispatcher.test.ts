// The dispatcher with simulated agents over real gRPC and mutual TLS on loopback, on an
// in-memory store: nodes go DOWN after missed heartbeats, not within the grace after a leader
// change, assignments arrive complete then incremental with the secrets only where they are
// used, the no-op executor's reports land in the store, and a node cannot report another's task.
import type * as grpc from "@grpc/grpc-js";
import { silentLogger } from "@shoal/base";
import { createClientCredentials, NodeCertificateProvider, RootCa, tlsChannelOptions } from "@shoal/pki";
import {
  AssignmentsType,
  Cluster,
  DispatcherClient,
  Network,
  Node,
  type NodeOverlay,
  NodeState,
  Secret,
  Service,
  Task,
  TaskState,
} from "@shoal/proto";
import { Store } from "@shoal/store";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { LOOPBACK, nodeMaterial } from "../../test/tls.js";
import { ClusterServer } from "../cluster-server.js";
import { ManagerErrorCode } from "../errors.js";
import { SHOAL_CODE_TRAILER } from "../grpc-status.js";
import { SimulatedAgents, type SimulatedNode } from "../sim/simulated-agents.js";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.js";

const CLUSTER = "cluster-d";
const PERIOD_MS = 250;
const logger = silentLogger();

let root: RootCa;
let nodes: SimulatedNode[];
beforeAll(async () => {
  root = await RootCa.create({ clusterId: CLUSTER, nowMs: Date.now() });
  nodes = await Promise.all(
    ["n1", "n2", "n3"].map(async (nodeId) => ({ nodeId, tls: await nodeMaterial(root, nodeId, "worker") })),
  );
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A store with the cluster object and three registered worker nodes. */
async function newStore(periodMs = PERIOD_MS): Promise<Store> {
  const store = new Store({ logger });
  await store.update((tx) => {
    tx.clusters.create(
      Cluster.fromPartial({
        id: CLUSTER,
        spec: { name: "default", dispatcher: { heartbeatPeriodMs: periodMs } },
      }),
    );
    for (const { nodeId } of nodes) tx.nodes.create(Node.fromPartial({ id: nodeId, spec: { name: nodeId } }));
  });
  return store;
}

/** One "leadership": a dispatcher serving on its own cluster port until stopped. */
async function serve(store: Store, options: Partial<DispatcherOptions> = {}) {
  const managerTls = await nodeMaterial(root, "m1", "manager");
  const dispatcher = new Dispatcher({ store, logger, ...options });
  const server = await ClusterServer.open({
    listenAddress: `${LOOPBACK}:0`,
    certificates: new NodeCertificateProvider(managerTls),
    clusterId: CLUSTER,
    services: { dispatcher: dispatcher.service() },
    logger,
  });
  const leadership = new AbortController();
  const running = dispatcher.run(leadership.signal);
  const stop = async () => {
    leadership.abort();
    await running;
    await server.close();
  };
  cleanups.push(stop);
  return { dispatcher, address: `${LOOPBACK}:${server.port}`, stop };
}

async function agents(address: string, which = nodes, extra: { failTask?: (t: Task) => boolean } = {}) {
  const sim = await SimulatedAgents.open({ address, clusterId: CLUSTER, nodes: which, logger, ...extra });
  cleanups.push(() => sim.close());
  return sim;
}

const stateOf = (store: Store, id: string) => store.view((tx) => tx.nodes.get(id)?.status?.state);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("dispatcher sessions and heartbeats", () => {
  it("marks a node DOWN after it misses three heartbeats, and only that node", async () => {
    const store = await newStore();
    const { address } = await serve(store);
    const sim = await agents(address);
    await until("all nodes ready", () => nodes.every((n) => stateOf(store, n.nodeId) === NodeState.READY));
    await until("a heartbeat answered", () => sim.view("n1").periods.length > 0);
    const period = sim.view("n1").periods[0] ?? 0;
    expect(period).toBeGreaterThanOrEqual(PERIOD_MS * 0.9);
    expect(period).toBeLessThanOrEqual(PERIOD_MS * 1.1);
    sim.pauseHeartbeats("n1");
    const pausedAt = Date.now();
    await until("n1 down", () => stateOf(store, "n1") === NodeState.DOWN);
    // Not before three periods (less the jitter) of silence.
    expect(Date.now() - pausedAt).toBeGreaterThanOrEqual(3 * PERIOD_MS * 0.9 - PERIOD_MS);
    expect(store.view((tx) => tx.nodes.get("n1")?.status?.message)).toBe("heartbeat failure");
    expect(stateOf(store, "n2")).toBe(NodeState.READY);
    expect(stateOf(store, "n3")).toBe(NodeState.READY);
  });

  it("credits a stall of the leader to connected nodes, not to one whose connection closed", async () => {
    const periodMs = 1_000; // long, so that the two rules' DOWN times lie periods apart
    const store = await newStore(periodMs);
    const { address, dispatcher } = await serve(store);
    const killed = await agents(address, nodes.slice(0, 1));
    await agents(address, nodes.slice(1));
    await until("all nodes ready", () => nodes.every((n) => stateOf(store, n.nodeId) === NodeState.READY));
    await until("three sessions", () => dispatcher.sessionCount === 3);
    killed.close(); // as a SIGKILL of its daemon: the kernel closes the connection
    await until("n1's session ended", () => dispatcher.sessionCount === 2);
    // The leader's loop held for 3.5 periods (a long pass): n2's and n3's heartbeats wait unread,
    // and n1's deadline (3 periods after its last heartbeat) passes meanwhile.
    const heldUntil = Date.now() + 3.5 * periodMs;
    while (Date.now() < heldUntil) {
      // busy, as a pass over 100,000 tasks is
    }
    // With the stall credited to n1 too, its DOWN would come 2-3 periods from now.
    await until("n1 down at the first sweep", () => stateOf(store, "n1") === NodeState.DOWN, periodMs);
    await sleep(periodMs);
    expect(stateOf(store, "n2")).toBe(NodeState.READY);
    expect(stateOf(store, "n3")).toBe(NodeState.READY);
  });

  it("gives nodes a grace after a leader change: no false DOWN while they reconnect", async () => {
    const store = await newStore();
    const first = await serve(store);
    const sim = await agents(first.address);
    await until("all nodes ready", () => nodes.every((n) => stateOf(store, n.nodeId) === NodeState.READY));
    sim.close();
    await first.stop();
    // The new leader: nobody heartbeats for four periods, more than the three that mark DOWN.
    const second = await serve(store);
    await sleep(4 * PERIOD_MS);
    expect(nodes.map((n) => stateOf(store, n.nodeId))).toEqual([
      NodeState.READY,
      NodeState.READY,
      NodeState.READY,
    ]);
    // n1 and n2 reconnect; n3 never does and goes DOWN once the grace (6 periods) ran out.
    await agents(second.address, nodes.slice(0, 2));
    await until("n3 down", () => stateOf(store, "n3") === NodeState.DOWN);
    await sleep(4 * PERIOD_MS);
    expect(stateOf(store, "n1")).toBe(NodeState.READY);
    expect(stateOf(store, "n2")).toBe(NodeState.READY);
  });

  it("closes a session stream that sends no open message within its timeout, writing nothing", async () => {
    const store = await newStore();
    const { address, dispatcher } = await serve(store, { sessionOpenTimeoutMs: 200 });
    const node = nodes[0] as SimulatedNode;
    const client = new DispatcherClient(
      address,
      createClientCredentials(node.tls, { clusterId: CLUSTER }),
      tlsChannelOptions(),
    );
    cleanups.push(() => client.close());
    const call = client.session();
    const err = await new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
    expect(err.details).toBe('session stream of node "n1" sent no open message within 200 ms');
    expect(err.metadata.get(SHOAL_CODE_TRAILER)).toEqual([ManagerErrorCode.SessionOpenTimeout]);
    expect(stateOf(store, "n1")).toBeUndefined(); // never written READY
    expect(dispatcher.sessionCount).toBe(0);
    // A heartbeat is no open message either: refused as out of protocol.
    const early = client.session();
    early.write({ kind: { $case: "heartbeat", value: {} } });
    const refused = await new Promise<grpc.ServiceError>((resolve) => early.on("error", resolve));
    expect(refused.metadata.get(SHOAL_CODE_TRAILER)).toEqual([ManagerErrorCode.SessionProtocol]);
    expect(refused.details).toBe('session stream of node "n1" sent a heartbeat before its open message');
  });

  it("tells agents on a follower that it is not the leader", async () => {
    const store = await newStore();
    const { address, stop } = await serve(store);
    await stop();
    const managerTls = await nodeMaterial(root, "m2", "manager");
    const dispatcher = new Dispatcher({ store, logger, leaderAddress: () => "10.0.0.1:4270" });
    const server = await ClusterServer.open({
      listenAddress: `${LOOPBACK}:0`,
      certificates: new NodeCertificateProvider(managerTls),
      clusterId: CLUSTER,
      services: { dispatcher: dispatcher.service() },
      logger,
    });
    cleanups.push(() => server.close());
    expect(address).not.toBe("");
    const err = await SimulatedAgents.open({
      address: `${LOOPBACK}:${server.port}`,
      clusterId: CLUSTER,
      nodes: nodes.slice(0, 1),
      followLeader: false,
    }).catch((e: unknown) => e as { details: string; metadata: { get(k: string): unknown[] } });
    expect((err as { details: string }).details).toBe(
      'this manager is not the leader; the leader is at "10.0.0.1:4270"',
    );
    expect((err as { metadata: { get(k: string): unknown[] } }).metadata.get(SHOAL_CODE_TRAILER)).toEqual([
      ManagerErrorCode.NotLeader,
    ]);
  });
});

describe("dispatcher assignments and status reports", () => {
  async function withService(store: Store) {
    await store.update((tx) => {
      tx.secrets.create(
        Secret.fromPartial({ id: "sec1", spec: { name: "db-password", data: new Uint8Array([1]) } }),
      );
      tx.services.create(
        Service.fromPartial({
          id: "svc1",
          spec: {
            name: "web",
            taskTemplate: {
              container: { image: "nginx", secrets: [{ secretId: "sec1", secretName: "db-password" }] },
            },
          },
        }),
      );
    });
  }
  const assignedTask = (id: string, nodeId: string, slot: number) =>
    Task.fromPartial({
      id,
      serviceId: "svc1",
      slot,
      nodeId,
      desiredState: TaskState.RUNNING,
      status: { state: TaskState.ASSIGNED },
      spec: { container: { image: "nginx", secrets: [{ secretId: "sec1", secretName: "db-password" }] } },
    });

  it("sends the complete set first, then increments, with secrets only to the node that uses them", async () => {
    const store = await newStore();
    await withService(store);
    await store.update((tx) => tx.tasks.create(assignedTask("t1", "n1", 1)));
    const { address } = await serve(store);
    const sim = await agents(address, nodes, { failTask: (t) => t.id === "t3" });
    const n1 = sim.view("n1");
    expect(n1.messages[0]?.type).toBe(0); // COMPLETE
    expect([...n1.tasks.keys()]).toEqual(["t1"]);
    expect([...n1.secrets.keys()]).toEqual(["sec1"]);
    // A second task for n1 and one for n3 (to fail) arrive as increments.
    await store.update((tx) => {
      tx.tasks.create(assignedTask("t2", "n1", 2));
      tx.tasks.create(assignedTask("t3", "n3", 3));
    });
    await until("t1 and t2 running", () =>
      ["t1", "t2"].every((id) => store.view((tx) => tx.tasks.get(id)?.status?.state) === TaskState.RUNNING),
    );
    await until(
      "t3 failed",
      () => store.view((tx) => tx.tasks.get("t3")?.status?.state) === TaskState.FAILED,
    );
    expect(n1.messages.slice(1).every((m) => m.type === 1)).toBe(true); // INCREMENTAL
    expect(n1.messages.length).toBeGreaterThan(1);
    // n2 runs nothing: it never saw the secret or any task.
    const n2 = sim.view("n2");
    expect(n2.tasks.size + n2.secrets.size).toBe(0);
    expect(n2.messages.flatMap((m) => m.changes)).toEqual([]);
    // When n1's tasks end, its secret leaves with them (an increment removes it).
    await store.update((tx) => {
      for (const id of ["t1", "t2"]) {
        const t = tx.tasks.get(id);
        if (t)
          tx.tasks.update({
            ...t,
            status: { ...t.status, state: TaskState.SHUTDOWN, timestampMs: 1, message: "", err: "" },
          });
      }
    });
    await until("n1's secret removed", () => n1.secrets.size === 0);
    expect(sim.view("n3").secrets.size).toBe(0); // t3 failed: no secret needed any more
  });

  it("simulated agents report a task told to stop before they started it as SHUTDOWN, as an agent does", async () => {
    // A node thought down and back: its task, never accepted, was replaced and told to stop.
    const store = await newStore();
    await withService(store);
    await store.update((tx) =>
      tx.tasks.create({ ...assignedTask("t1", "n1", 1), desiredState: TaskState.SHUTDOWN }),
    );
    const { address } = await serve(store);
    await agents(address, nodes.slice(0, 1));
    await until(
      "t1 shut down",
      () => store.view((tx) => tx.tasks.get("t1")?.status?.state) === TaskState.SHUTDOWN,
    );
  });

  it("refuses a report about another node's task, writing nothing", async () => {
    const store = await newStore();
    await withService(store);
    await store.update((tx) => tx.tasks.create(assignedTask("t1", "n1", 1)));
    const { address } = await serve(store);
    const sim = await agents(address, nodes.slice(1, 2), {}); // n2 only: it runs nothing of its own
    const err = await sim
      .report("n2", [
        { taskId: "t1", status: { state: TaskState.FAILED, timestampMs: 1, message: "", err: "" } },
      ])
      .catch((e: unknown) => e as { code: number; details: string; metadata: { get(k: string): unknown[] } });
    expect(err).toMatchObject({
      details: 'node "n2" reported the status of task "t1", which is assigned to node "n1"',
    });
    expect((err as { metadata: { get(k: string): unknown[] } }).metadata.get(SHOAL_CODE_TRAILER)).toEqual([
      ManagerErrorCode.NotOwnTask,
    ]);
    expect(store.view((tx) => tx.tasks.get("t1")?.status?.state)).toBe(TaskState.ASSIGNED);
  });

  it("drops backward reports and keeps the forward state", async () => {
    const store = await newStore();
    await withService(store);
    await store.update((tx) =>
      tx.tasks.create({ ...assignedTask("t1", "n1", 1), desiredState: TaskState.READY }),
    );
    const { address } = await serve(store);
    const sim = await agents(address, nodes.slice(0, 1));
    const report = (state: TaskState) =>
      sim.report("n1", [{ taskId: "t1", status: { state, timestampMs: 1, message: "", err: "" } }]);
    await report(TaskState.RUNNING);
    await report(TaskState.ACCEPTED);
    expect(store.view((tx) => tx.tasks.get("t1")?.status?.state)).toBe(TaskState.RUNNING);
  });

  it("keeps a node's overlay state current through increments: its own tasks and changes elsewhere", async () => {
    const store = await newStore();
    await store.update((tx) => {
      tx.networks.create(
        Network.fromPartial({
          id: "front",
          spec: { name: "app_front" },
          driverState: { name: "overlay", options: { vni: "4096" } },
          ipam: { configs: [{ subnet: "10.0.1.0/24", gateway: "10.0.1.1" }] },
        }),
      );
      tx.services.create(
        Service.fromPartial({
          id: "svc1",
          spec: { name: "web" },
          endpoint: { virtualIps: [{ networkId: "front", addr: "10.0.1.2/24" }] },
        }),
      );
    });
    const onFront = (id: string, nodeId: string, addr: string) =>
      Task.fromPartial({
        ...assignedTask(id, nodeId, 1),
        spec: { container: { image: "nginx" } },
        networks: [{ networkId: "front", addresses: [addr] }],
      });
    const { address } = await serve(store);
    const sim = await agents(address, nodes.slice(0, 2));
    const n1 = sim.view("n1");
    const overlays = () =>
      n1.messages.flatMap((m) =>
        m.changes.flatMap((c) =>
          c.assignment?.item?.$case === "overlay" ? [c.assignment.item.value as NodeOverlay] : [],
        ),
      );
    const peersOf = (o: NodeOverlay | undefined) =>
      (o?.networks[0]?.peers ?? []).map((p) => p.endpointIps.join(",")).sort();
    // Its own task on a network: the overlay arrives with it.
    await store.update((tx) => tx.tasks.create(onFront("t1", "n1", "10.0.1.10/24")));
    await until("n1's overlay", () => overlays().length > 0);
    expect(peersOf(overlays().at(-1))).toEqual(["10.0.1.10"]);
    // A task on another node joins the network: n1 learns the new peer (a change elsewhere).
    await store.update((tx) => tx.tasks.create(onFront("t2", "n2", "10.0.1.11/24")));
    await until("n2 as n1's peer", () => peersOf(overlays().at(-1)).length === 2);
    expect(peersOf(overlays().at(-1))).toEqual(["10.0.1.10", "10.0.1.11"]);
    // The tasks run: the service's backends on n1's overlay turn healthy (a change of the tasks).
    await until(
      "both healthy on n1",
      () => (overlays().at(-1)?.services[0]?.tasks ?? []).filter((t) => t.healthy).length === 2,
    );
    expect(n1.messages.slice(1).every((m) => m.type === AssignmentsType.INCREMENTAL)).toBe(true);
  });
});
