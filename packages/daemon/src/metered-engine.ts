// The agent's metrics (issue 19), taken at its engine: the agent's task controllers call an Engine,
// and this one passes every call to the node's RuntimeEngine while it times image pulls (and counts
// the image's bytes) and a task's start (from its assignment to its container running).
import type { Engine, RuntimeEngine } from "@shoal/agent";
import type { Clock } from "@shoal/base";
import type { ShoalMetrics } from "@shoal/bus";
import { type Task, TaskState } from "@shoal/proto";

type Params<K extends keyof Engine> = Engine[K] extends (...a: infer P) => unknown ? P : never;

export class MeteredEngine implements Engine {
  /** Task id → when it was assigned (ms), from its create until its start. */
  private readonly assignedAt = new Map<string, number>();

  constructor(
    private readonly inner: RuntimeEngine,
    private readonly metrics: ShoalMetrics,
    private readonly clock: Clock,
  ) {}

  hasImage(ref: string): Promise<boolean> {
    return this.inner.hasImage(ref);
  }

  async pull(...[ref, auth, signal]: Params<"pull">): Promise<void> {
    const started = this.clock.now();
    await this.inner.pull(ref, auth, signal);
    this.metrics.imagePullDuration.observe((this.clock.now() - started) / 1000);
    // The image's size: what a pull into an empty store downloads (shared layers counted again).
    this.metrics.imagePullBytes.inc(this.inner.images.get(ref)?.sizeBytes ?? 0);
  }

  networkMode(task: Task): "needed" | "not-needed" {
    return (this.inner as Engine).networkMode(task);
  }

  attachNetwork(...a: Params<"attachNetwork">): ReturnType<Engine["attachNetwork"]> {
    return this.inner.attachNetwork(...a);
  }

  detachNetwork(taskId: string): Promise<void> {
    return this.inner.detachNetwork(taskId);
  }

  async create(...[task, node, files]: Params<"create">): Promise<void> {
    // The scheduler stamps the ASSIGNED status; a task seen later (a restart) starts from now.
    const at = task.status?.state === TaskState.ASSIGNED ? task.status.timestampMs : this.clock.now();
    this.assignedAt.set(task.id, at);
    await this.inner.create(task, node, files);
  }

  async start(taskId: string): Promise<void> {
    await this.inner.start(taskId);
    const at = this.assignedAt.get(taskId);
    this.assignedAt.delete(taskId);
    if (at !== undefined) this.metrics.taskStartLatency.observe(Math.max(0, this.clock.now() - at) / 1000);
  }

  inspect(taskId: string): ReturnType<Engine["inspect"]> {
    return this.inner.inspect(taskId);
  }

  waitForChange(taskId: string, signal: AbortSignal): Promise<void> {
    return this.inner.waitForChange(taskId, signal);
  }

  stop(task: Task): Promise<void> {
    return this.inner.stop(task);
  }

  remove(taskId: string): Promise<void> {
    this.assignedAt.delete(taskId);
    return this.inner.remove(taskId);
  }

  setContainerSubnet(cidr: string): Promise<void> {
    return this.inner.setContainerSubnet(cidr);
  }
}
