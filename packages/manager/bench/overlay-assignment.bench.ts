// The dispatcher's overlay work per task change, pure (an in-memory store, no gRPC): 100 nodes,
// 1,000 running tasks of 10 services on 2 overlay networks (100 per service, 10 per node, one
// service on both networks), so every node holds both networks and every task — the worst case,
// where each change reaches every node. A change is one task's health flipping (its backend
// leaves or rejoins the VIPs); after each, every node's assignments are recomputed and diffed as
// its assignments stream does (`updateAssignments` with the task ids changed on it and the
// overlay marked dirty, as the dispatcher's overlay watch marks every stream), in one view per
// node at the same store index.
//   overlay_assignment_change_100n_1000t_ms   p50 per change, all 100 nodes
//   overlay_assignment_encode_100n_1000t_ms   p50 per change, encoding the 100 nodes' overlay
//                                             messages (what gRPC then does for each stream)
import { percentile, reportFigure, silentLogger } from "@shoal/base";
import {
  AssignmentsMessage,
  AssignmentsType,
  Network,
  Node,
  NodeState,
  Service,
  Task,
  TaskState,
} from "@shoal/proto";
import { Store } from "@shoal/store";
import { assignmentsOf, type NodeAssignments, updateAssignments } from "../src/dispatcher/assignments.js";
import { OverlayCatalogCache } from "../src/dispatcher/overlay-assignment.js";

const NODES = 100;
const SERVICES = 10;
const TASKS_PER_SERVICE = 100;
const CHANGES = 60;

const ip = (net: number, i: number) => `10.0.${net * 16 + Math.floor(i / 250)}.${(i % 250) + 2}/20`;

async function cluster(): Promise<Store> {
  const store = new Store({ logger: silentLogger() });
  await store.update((tx) => {
    for (const [n, id] of ["front", "back"].entries())
      tx.networks.create(
        Network.fromPartial({
          id,
          spec: { name: id },
          driverState: { name: "overlay", options: { vni: String(4096 + n) } },
          ipam: { configs: [{ subnet: `10.0.${n * 16}.0/20`, gateway: `10.0.${n * 16}.1` }] },
        }),
      );
    for (let i = 0; i < NODES; i++)
      tx.nodes.create(
        Node.fromPartial({
          id: `node-${i}`,
          spec: { name: `node-${i}` },
          status: { state: NodeState.READY, addr: `10.231.${Math.floor(i / 250)}.${(i % 250) + 2}` },
        }),
      );
  });
  let addr = 0;
  for (let s = 0; s < SERVICES; s++) {
    // Service 0 on both networks; the others alternate.
    const nets = s === 0 ? [0, 1] : [s % 2];
    await store.update((tx) => {
      tx.services.create(
        Service.fromPartial({
          id: `svc-${s}`,
          spec: { name: `svc-${s}` },
          endpoint: {
            virtualIps: nets.map((n) => ({ networkId: n === 0 ? "front" : "back", addr: ip(n, 1000 + s) })),
          },
        }),
      );
      for (let t = 0; t < TASKS_PER_SERVICE; t++) {
        const a = addr++;
        tx.tasks.create(
          Task.fromPartial({
            id: `task-${s}-${t}`,
            serviceId: `svc-${s}`,
            nodeId: `node-${a % NODES}`,
            desiredState: TaskState.RUNNING,
            status: { state: TaskState.RUNNING, containerStatus: { health: "healthy" } },
            networks: nets.map((n) => ({ networkId: n === 0 ? "front" : "back", addresses: [ip(n, a)] })),
          }),
        );
      }
    });
  }
  return store;
}

export async function run(): Promise<void> {
  const store = await cluster();
  const cache = new OverlayCatalogCache();
  const nodeIds = Array.from({ length: NODES }, (_, i) => `node-${i}`);
  const held = new Map<string, NodeAssignments>(
    nodeIds.map((id) => [id, store.view((tx) => assignmentsOf(tx, id, cache.at(tx, store.applied)))]),
  );
  const computeMs: number[] = [];
  const encodeMs: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const id = `task-${i % SERVICES}-${(i * 7) % TASKS_PER_SERVICE}`;
    await store.update((tx) => {
      const t = tx.tasks.get(id) as Task;
      const health = t.status?.containerStatus?.health === "healthy" ? "unhealthy" : "healthy";
      const status = { ...t.status, containerStatus: { ...t.status?.containerStatus, health } };
      tx.tasks.update(Task.fromPartial({ ...t, status }));
    });
    const owner = store.view((tx) => tx.tasks.get(id)?.nodeId);
    const messages: AssignmentsMessage[] = [];
    const t0 = performance.now();
    for (const nodeId of nodeIds) {
      const before = held.get(nodeId) as NodeAssignments;
      const { next, changes } = store.view((tx) =>
        updateAssignments(
          tx,
          nodeId,
          before,
          nodeId === owner ? [id] : [],
          true,
          cache.at(tx, store.applied),
        ),
      );
      if (changes.length > 0)
        messages.push({ type: AssignmentsType.INCREMENTAL, appliesTo: "0", resultsIn: "1", changes });
      held.set(nodeId, next);
    }
    const t1 = performance.now();
    for (const m of messages) AssignmentsMessage.encode(m).finish();
    const t2 = performance.now();
    if (messages.length !== NODES) throw new Error(`a change reached ${messages.length} nodes, not ${NODES}`);
    computeMs.push(t1 - t0);
    encodeMs.push(t2 - t1);
  }
  reportFigure("overlay_assignment_change_100n_1000t_ms", percentile(computeMs, 50), "ms");
  reportFigure("overlay_assignment_encode_100n_1000t_ms", percentile(encodeMs, 50), "ms");
}
