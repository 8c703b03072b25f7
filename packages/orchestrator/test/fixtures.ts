// Builders for table tests: proto objects with only the fields a case cares about, and a compact
// summary of a plan ("create slot 2 RUNNING", "t1 → SHUTDOWN") to compare against.
import {
  type Cluster,
  ClusterSpec,
  type Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  type Service,
  ServiceSpec,
  type Task,
  TaskState,
} from "@shoal/proto";
import type { Plan, ReconcileContext } from "../src/index.js";

export const NOW = 1_000_000;
export const GiB = 2 ** 30;

export function ctx(nowMs = NOW): ReconcileContext {
  let n = 0;
  return { nowMs, newTaskId: () => `new${++n}` };
}

export function node(
  id: string,
  o: {
    state?: NodeState;
    availability?: NodeAvailability;
    labels?: Record<string, string>;
    memGiB?: number;
    subnet?: string;
  } = {},
): Node {
  return {
    id,
    spec: {
      name: id,
      labels: o.labels ?? {},
      desiredRole: NodeRole.WORKER,
      membership: 1,
      availability: o.availability ?? NodeAvailability.ACTIVE,
    },
    description: {
      hostname: id,
      platform: { os: "linux", architecture: "amd64" },
      resources: { nanoCpus: 4e9, memoryBytes: (o.memGiB ?? 4) * GiB, pids: 0, generic: [] },
    },
    status: { state: o.state ?? NodeState.READY, message: "", addr: "" },
    role: NodeRole.WORKER,
    containerSubnet: o.subnet ?? "",
  };
}

export function service(
  id: string,
  spec: Parameters<typeof ServiceSpec.fromPartial>[0] = {},
  extra: Partial<Service> = {},
): Service {
  return {
    id,
    spec: ServiceSpec.fromPartial({ name: id, ...spec }),
    specVersion: 7,
    pendingDelete: false,
    ...extra,
  };
}

export function task(
  id: string,
  o: {
    service?: string;
    slot?: number;
    node?: string;
    state?: TaskState;
    desired?: TaskState;
    createdAtMs?: number;
    restartAtMs?: number;
    history?: number[];
    spec?: Task["spec"];
    address?: string;
    message?: string;
    jobIteration?: number;
    memMiB?: number;
  } = {},
): Task {
  const t: Task = {
    id,
    meta: { version: 1, createdAtMs: o.createdAtMs ?? 0, updatedAtMs: 0 },
    spec:
      o.spec ??
      (o.memMiB === undefined
        ? undefined
        : {
            resources: {
              reservations: { nanoCpus: 0, memoryBytes: o.memMiB * 2 ** 20, pids: 0, generic: [] },
            },
            networks: [],
            forceUpdate: 0,
          }),
    specVersion: 7,
    serviceId: o.service ?? "s1",
    slot: o.slot ?? 0,
    nodeId: o.node ?? "",
    name: id,
    serviceLabels: {},
    status: { timestampMs: 0, state: o.state ?? TaskState.RUNNING, message: o.message ?? "", err: "" },
    desiredState: o.desired ?? TaskState.RUNNING,
    networks: [],
    assignedGenericResources: [],
    address: o.address ?? "",
    restartAtMs: o.restartAtMs ?? 0,
    restartHistoryMs: o.history ?? [],
  };
  if (o.jobIteration !== undefined) t.jobIteration = o.jobIteration;
  return t;
}

export function cluster(spec: Parameters<typeof ClusterSpec.fromPartial>[0]): Cluster {
  return {
    id: "c",
    spec: ClusterSpec.fromPartial(spec),
    networkBootstrapKeys: [],
    encryptionKeyLamportClock: 0,
  };
}

const STATE_NAMES = new Map(Object.entries(TaskState).map(([k, v]) => [v as number, k]));
export const stateName = (s: TaskState) => STATE_NAMES.get(s) ?? String(s);

/** "create slot 2 RUNNING" / "create node n1 READY@T" / "t1 → SHUTDOWN" / "remove t1", sorted. */
export function summary(plan: Plan): string[] {
  const out: string[] = [];
  for (const { object: t } of plan.createTasks) {
    const where = t.slot > 0 ? `slot ${t.slot}` : `node ${t.nodeId}`;
    const at = t.restartAtMs > NOW ? `@+${t.restartAtMs - NOW}` : "";
    out.push(`create ${where} ${stateName(t.desiredState)}${at}`);
  }
  for (const { object: t } of plan.updateTasks) out.push(`${t.id} → ${stateName(t.desiredState)}`);
  for (const r of plan.removeTasks) out.push(`remove ${r.taskId}`);
  return out.sort();
}
