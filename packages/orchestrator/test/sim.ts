// A simulated cluster for the model-based test: a store of proto objects that applies plans, a
// leader that runs `reconcileCluster` and keeps only timers (dropped on a leader change), and a
// fake agent that walks the tasks of up nodes towards their desired state.
import { type Random, seededRandom } from "@shoal/base";
import {
  type Cluster,
  type Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  type Service,
  type Task,
  TaskState,
} from "@shoal/proto";
import { describePlan, isEmptyPlan, type Plan, reconcileCluster, wakeAtMs } from "../src/index.js";

export class SimCluster {
  nowMs = 1_000_000;
  readonly nodes = new Map<string, Node>();
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  cluster: Cluster | undefined;
  /** The leader's only in-memory state: when to look again. A leader change forgets it. */
  private timers: number[] = [];
  private version = 1;
  private ids = 0;
  /** When each node was last paused, to check that nothing new lands on it afterwards. */
  readonly pausedAtMs = new Map<string, number>();
  readonly log: string[] = [];
  private readonly random: Random;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  id(prefix: string): string {
    this.ids++;
    return `${prefix}${String(this.ids).padStart(4, "0")}`;
  }

  private stamp<
    T extends { meta?: { version: number; createdAtMs: number; updatedAtMs: number } | undefined },
  >(o: T, create: boolean): T {
    this.version++;
    const createdAtMs = create ? this.nowMs : (o.meta?.createdAtMs ?? this.nowMs);
    return { ...o, meta: { version: this.version, createdAtMs, updatedAtMs: this.nowMs } };
  }

  putNode(node: Node): void {
    this.nodes.set(node.id, this.stamp(node, !this.nodes.has(node.id)));
  }

  putService(service: Service): void {
    const s = this.stamp(service, !this.services.has(service.id));
    this.services.set(service.id, { ...s, specVersion: s.meta?.version ?? 0 });
  }

  leaderChange(): void {
    this.timers = [];
    this.log.push("leader change");
  }

  apply(plan: Plan): void {
    for (const c of plan.createTasks) this.tasks.set(c.object.id, this.stamp(c.object, true));
    for (const c of plan.updateTasks)
      if (this.tasks.has(c.object.id)) this.tasks.set(c.object.id, this.stamp(c.object, false));
    for (const r of plan.removeTasks) this.tasks.delete(r.taskId);
    for (const c of plan.updateNodes)
      if (this.nodes.has(c.object.id)) this.nodes.set(c.object.id, this.stamp(c.object, false));
    for (const c of plan.updateServices)
      if (this.services.has(c.object.id)) this.services.set(c.object.id, this.stamp(c.object, false));
    const at = wakeAtMs({ ...plan, timers: plan.timers.filter((t) => t.atMs > this.nowMs) });
    if (at !== undefined) this.timers.push(at);
  }

  /** One leader pass; true when it changed something. */
  reconcile(): boolean {
    const plan = reconcileCluster(
      { nodes: this.nodes, services: this.services, tasks: this.tasks, cluster: this.cluster },
      { nowMs: this.nowMs, newTaskId: () => this.id("t"), random: this.random },
    );
    this.apply(plan);
    if (!isEmptyPlan(plan)) this.log.push(`@${this.nowMs}\n${describePlan(plan)}`);
    return !isEmptyPlan(plan);
  }

  /** The fake agents: each up node moves its tasks towards their desired state; true if any moved. */
  agentStep(): boolean {
    let moved = false;
    for (const task of [...this.tasks.values()]) {
      const node = this.nodes.get(task.nodeId);
      if (node === undefined || node.status?.state !== NodeState.READY) continue;
      const state = task.status?.state ?? TaskState.NEW;
      if (state < TaskState.ASSIGNED || state > TaskState.RUNNING) continue;
      let next: TaskState | undefined;
      if (task.desiredState > TaskState.RUNNING) next = TaskState.SHUTDOWN;
      else if (task.desiredState === TaskState.READY && state < TaskState.READY) next = TaskState.READY;
      else if (task.desiredState === TaskState.RUNNING && state < TaskState.RUNNING) next = TaskState.RUNNING;
      if (next !== undefined) {
        this.report(task, next, next === TaskState.SHUTDOWN ? 143 : 0);
        moved = true;
      }
    }
    return moved;
  }

  report(task: Task, state: TaskState, exitCode: number): void {
    const updated: Task = {
      ...task,
      status: {
        timestampMs: this.nowMs,
        state,
        message: "agent",
        err: state === TaskState.FAILED ? `exit ${exitCode}` : "",
        containerStatus: { containerId: task.id, pid: 1, exitCode, health: "" },
      },
    };
    this.tasks.set(task.id, this.stamp(updated, false));
  }

  /** Runs leader passes and agent steps, moving time to the next timer, until nothing changes. */
  settle(maxRounds = 200): void {
    for (let round = 0; round < maxRounds; round++) {
      const changed = this.reconcile();
      const moved = this.agentStep();
      if (changed || moved) continue;
      const next = this.timers.filter((t) => t > this.nowMs).sort((a, b) => a - b)[0];
      this.timers = this.timers.filter((t) => t > this.nowMs);
      if (next === undefined) return;
      this.nowMs = next;
    }
    throw new Error(
      `cluster did not settle in ${maxRounds} rounds; last decisions:\n${this.log.slice(-5).join("\n")}`,
    );
  }

  pick<T>(items: readonly T[], index: number): T | undefined {
    return items.length === 0 ? undefined : items[index % items.length];
  }

  /** A ready worker with the given memory (GiB), 4 CPUs and a zone label. */
  addNode(memoryGiB: number, zone: string): Node {
    const node: Node = {
      id: this.id("n"),
      spec: {
        name: "",
        labels: { zone },
        desiredRole: NodeRole.WORKER,
        membership: 1,
        availability: NodeAvailability.ACTIVE,
      },
      description: {
        hostname: `host-${this.ids}`,
        platform: { os: "linux", architecture: "amd64" },
        resources: { nanoCpus: 4e9, memoryBytes: memoryGiB * 2 ** 30, pids: 0, generic: [] },
        addresses: [],
      },
      status: { state: NodeState.READY, message: "", addr: "10.0.0.1" },
      role: NodeRole.WORKER,
      containerSubnet: "",
    };
    this.putNode(node);
    return node;
  }
}
