// A simulated cluster for rolling updates: the leader's passes (orchestrators, allocator,
// scheduler, then the updater) over maps of proto objects, a ManualClock, and fake agents that
// take time to start, stop and pass health checks, and that crash the tasks a scenario marks bad.
// The leader keeps only timers, dropped on a leader change. Used by the property test and the
// bench.
import { ManualClock, seededRandom } from "@shoal/base";
import {
  type Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  type Service,
  ServiceSpec,
  type Task,
  TaskSpec,
  TaskState,
  type UpdateConfig,
} from "@shoal/proto";
import {
  describePlan,
  isEmptyPlan,
  type Plan,
  reconcileCluster,
  updaterStep,
  WorkingView,
} from "../src/index.js";

export interface RollScenario {
  replicas: number;
  nodes: number;
  update: Partial<UpdateConfig>;
  rollback: Partial<UpdateConfig>;
  healthCheck: boolean;
  /** Every task of the new spec crashes once running. */
  bad: boolean;
  /** Any other task of the new spec crashes with this chance. */
  failChance: number;
  startMs: number;
  stopMs: number;
  healthyAfterMs: number;
  crashAfterMs: number;
  /** Times after the update starts at which the leader changes (timers forgotten). */
  leaderChangesMs: number[];
  seed: number;
}

const GOOD = "app:2";
const BAD = "app:bad";
export const SERVICE_ID = "svc";

export class RollSim {
  readonly clock = new ManualClock(1_000_000);
  readonly nodes = new Map<string, Node>();
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  readonly log: string[] = [];
  updateStartedAtMs = 0;
  private timers: number[] = [];
  private leaderChanges: number[] = [];
  private version = 1;
  private ids = 0;
  private readonly random;

  constructor(readonly scenario: RollScenario) {
    this.random = seededRandom(scenario.seed);
    for (let i = 0; i < scenario.nodes; i++) this.addNode();
    const spec = ServiceSpec.fromPartial({
      name: "web",
      mode: { $case: "replicated", value: { replicas: scenario.replicas } },
      taskTemplate: this.template("app:1"),
      updateConfig: scenario.update,
      rollbackConfig: scenario.rollback,
    });
    this.put(this.services, { id: SERVICE_ID, spec, specVersion: 0, pendingDelete: false });
  }

  get service(): Service {
    return this.services.get(SERVICE_ID) as Service;
  }

  template(image: string): TaskSpec {
    return TaskSpec.fromPartial({
      container: {
        image,
        healthcheck: this.scenario.healthCheck ? { test: ["CMD", "true"] } : undefined,
      },
      restartPolicy: { delayMs: 1_000 },
    });
  }

  /** What `service update --image` does through the control API. */
  startUpdate(): void {
    const s = this.service;
    const image = this.scenario.bad ? BAD : GOOD;
    const spec = { ...(s.spec as ServiceSpec), taskTemplate: this.template(image) };
    this.put(this.services, { ...s, spec, previousSpec: s.spec, updateStatus: undefined });
    this.updateStartedAtMs = this.clock.now();
    this.leaderChanges = this.scenario.leaderChangesMs.map((d) => this.clock.now() + d);
    this.log.push(`@${this.clock.now()} update to ${image}`);
  }

  /** Passes, agent moves and time steps until nothing is due before `untilMs`. */
  runUntil(untilMs: number, check: () => void = () => {}, done: () => boolean = () => false): void {
    for (let rounds = 0; !done(); rounds++) {
      if (rounds > 200_000)
        throw new Error(`simulation did not settle; last:\n${this.log.slice(-5).join("\n")}`);
      const changed = this.pass();
      const moved = this.agentStep();
      check();
      if (changed || moved) continue;
      const now = this.clock.now();
      const next = Math.min(
        ...this.timers.filter((t) => t > now),
        ...this.leaderChanges.filter((t) => t > now),
        this.nextAgentMove(),
      );
      if (!Number.isFinite(next) || next > untilMs) return;
      this.clock.advance(next - now);
      if (this.leaderChanges.some((t) => t <= this.clock.now())) {
        this.leaderChanges = this.leaderChanges.filter((t) => t > this.clock.now());
        this.timers = [];
        this.log.push(`@${this.clock.now()} leader change`);
      }
      this.timers = this.timers.filter((t) => t > this.clock.now());
    }
  }

  /** One leader pass: the orchestrator loops, then the updater's; true if it changed anything. */
  private pass(): boolean {
    const nowMs = this.clock.now();
    const view = { nodes: this.nodes, services: this.services, tasks: this.tasks, cluster: undefined };
    const work = new WorkingView(view);
    const ctx = { nowMs, newTaskId: () => this.id("t"), random: this.random };
    work.apply(reconcileCluster(work, ctx));
    work.apply(updaterStep(work, ctx));
    const plan = work.plan();
    this.apply(plan);
    if (!isEmptyPlan(plan)) this.log.push(`@${nowMs}\n${describePlan(plan)}`);
    return !isEmptyPlan(plan);
  }

  private apply(plan: Plan): void {
    for (const c of plan.createTasks) this.put(this.tasks, c.object, true);
    for (const c of plan.updateTasks) if (this.tasks.has(c.object.id)) this.put(this.tasks, c.object);
    for (const r of plan.removeTasks) this.tasks.delete(r.taskId);
    for (const c of plan.updateNodes) this.put(this.nodes, c.object);
    for (const c of plan.updateServices) this.put(this.services, c.object);
    for (const t of plan.timers) if (t.atMs > this.clock.now()) this.timers.push(t.atMs);
  }

  /** A task the scenario makes crash once it runs. */
  isBad(task: Task): boolean {
    const image = task.spec?.container?.image;
    if (image === BAD) return true;
    return image === GOOD && hash(`${this.scenario.seed}/${task.id}`) < this.scenario.failChance;
  }

  private nextMove(task: Task): { atMs: number; state: TaskState; health?: string | undefined } | undefined {
    const node = this.nodes.get(task.nodeId);
    if (node?.status?.state !== NodeState.READY) return undefined;
    const state = task.status?.state ?? TaskState.NEW;
    const at = task.status?.timestampMs ?? 0;
    const s = this.scenario;
    if (state < TaskState.ASSIGNED || state > TaskState.RUNNING) return undefined;
    if (task.desiredState > TaskState.RUNNING) return { atMs: at + s.stopMs, state: TaskState.SHUTDOWN };
    if (task.desiredState === TaskState.READY && state < TaskState.READY)
      return { atMs: at + s.startMs / 2, state: TaskState.READY };
    if (task.desiredState === TaskState.RUNNING && state < TaskState.RUNNING) {
      const health = s.healthCheck ? "starting" : undefined;
      return {
        atMs: at + (state === TaskState.READY ? s.startMs / 2 : s.startMs),
        state: TaskState.RUNNING,
        health,
      };
    }
    if (state !== TaskState.RUNNING) return undefined;
    if (this.isBad(task)) return { atMs: at + s.crashAfterMs, state: TaskState.FAILED };
    if (task.status?.containerStatus?.health === "starting")
      return { atMs: at + s.healthyAfterMs, state: TaskState.RUNNING, health: "healthy" };
    return undefined;
  }

  private agentStep(): boolean {
    let moved = false;
    const now = this.clock.now();
    for (const task of [...this.tasks.values()]) {
      const move = this.nextMove(task);
      if (move === undefined || move.atMs > now) continue;
      const failed = move.state === TaskState.FAILED;
      this.put(this.tasks, {
        ...task,
        status: {
          timestampMs: now,
          state: move.state,
          message: failed ? "exited" : "agent",
          err: failed ? "exit status 1" : "",
          containerStatus: {
            containerId: task.id,
            pid: 1,
            exitCode: failed ? 1 : 0,
            health: move.health ?? task.status?.containerStatus?.health ?? "",
          },
        },
      });
      moved = true;
    }
    return moved;
  }

  private nextAgentMove(): number {
    let best = Number.POSITIVE_INFINITY;
    for (const t of this.tasks.values()) {
      const move = this.nextMove(t);
      if (move !== undefined) best = Math.min(best, Math.max(move.atMs, this.clock.now() + 1));
    }
    return best;
  }

  private put<T extends { id: string; meta?: Task["meta"] }>(
    table: Map<string, T>,
    o: T,
    create = false,
  ): void {
    this.version++;
    const now = this.clock.now();
    const createdAtMs = create || o.meta === undefined ? now : o.meta.createdAtMs;
    table.set(o.id, { ...o, meta: { version: this.version, createdAtMs, updatedAtMs: now } });
  }

  private id(prefix: string): string {
    this.ids++;
    return `${prefix}${String(this.ids).padStart(5, "0")}`;
  }

  private addNode(): void {
    const id = this.id("n");
    this.put(this.nodes, {
      id,
      spec: {
        name: id,
        labels: {},
        desiredRole: NodeRole.WORKER,
        membership: 1,
        availability: NodeAvailability.ACTIVE,
      },
      description: {
        hostname: id,
        platform: { os: "linux", architecture: "amd64" },
        resources: { nanoCpus: 64e9, memoryBytes: 256 * 2 ** 30, pids: 0, generic: [] },
        addresses: [],
      },
      status: { state: NodeState.READY, message: "", addr: "10.0.0.1" },
      role: NodeRole.WORKER,
      containerSubnet: "",
    });
  }
}

/** A stable number in [0, 1) for a string (FNV-1a). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h / 2 ** 32;
}
