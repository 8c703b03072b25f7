// A manager's metrics (issue 19), read from what every manager has: the replicated store's changes
// and its Raft member. Each manager's /metrics shows the cluster as that manager sees it; the
// counters count what it applied (so every manager counts each change once).
//
// - tasks by state and service, pending tasks, dispatcher sessions (nodes ready): gauges, every 2 s
// - scheduling latency: a task's creation → its ASSIGNED state
// - container restarts: a task created for a slot that already had one (the restart policy)
// - heartbeat misses: a node marked down (its agent missed its heartbeats)
// - Raft term and leader changes: from the member's leadership changes
import { type Clock, type Logger, systemClock } from "@shoal/base";
import type { ShoalMetrics } from "@shoal/bus";
import { NodeState, type Task, TaskState, taskStateToJSON } from "@shoal/proto";
import type { ChangeEvent, ReplicatedStore } from "@shoal/store";

const GAUGES_MS = 2_000;

export interface ManagerMetricsOptions {
  store: ReplicatedStore;
  metrics: ShoalMetrics;
  logger: Logger;
  clock?: Clock;
}

export class ManagerMetrics {
  private readonly clock: Clock;
  private readonly log: Logger;
  private lastLeader = 0;

  constructor(private readonly o: ManagerMetricsOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.logger.child({ module: "daemon/manager-metrics" });
  }

  async run(signal: AbortSignal): Promise<void> {
    const loops = [this.watchChanges(signal), this.watchLeadership(signal), this.refreshGauges(signal)];
    await Promise.all(
      loops.map((l) =>
        l.catch((err: unknown) => {
          if (!signal.aborted) this.log.warn({ err }, "a metrics loop stopped");
        }),
      ),
    );
  }

  private async watchChanges(signal: AbortSignal): Promise<void> {
    for await (const ev of this.o.store.watch({ signal, filter: { kinds: ["task", "node"] } })) {
      if (ev.kind === "change") this.countChange(ev);
    }
  }

  private countChange(ev: ChangeEvent): void {
    const m = this.o.metrics;
    if (ev.objectKind === "task" && ev.object !== undefined) {
      const t = ev.object;
      const was = ev.old?.status?.state;
      if (t.status?.state === TaskState.ASSIGNED && was !== TaskState.ASSIGNED && t.meta !== undefined) {
        m.schedulingLatency.observe(Math.max(0, this.clock.now() - t.meta.createdAtMs) / 1000);
      }
      if (ev.action === "create" && t.slot > 0 && this.slotHadTask(t)) {
        m.containerRestarts.inc({ service: this.serviceName(t.serviceId) });
      }
    } else if (ev.objectKind === "node" && ev.object !== undefined) {
      const now = ev.object.status?.state;
      const was = ev.old?.status?.state;
      if (now === NodeState.DOWN && was !== NodeState.DOWN) m.heartbeatMisses.inc();
    }
  }

  private slotHadTask(t: Task): boolean {
    return this.o.store.view((tx) =>
      tx.tasks.find("serviceId", t.serviceId).some((o) => o.id !== t.id && o.slot === t.slot),
    );
  }

  private serviceName(serviceId: string): string {
    return this.o.store.view((tx) => tx.services.get(serviceId)?.spec?.name) || serviceId;
  }

  private async watchLeadership(signal: AbortSignal): Promise<void> {
    const m = this.o.metrics;
    m.raftTerm.set(this.o.store.raft.term);
    for await (const s of this.o.store.leadershipChanges(signal)) {
      m.raftTerm.set(s.term);
      if (s.leaderId !== 0 && s.leaderId !== this.lastLeader) {
        if (this.lastLeader !== 0) m.leaderChanges.inc();
        this.lastLeader = s.leaderId;
      }
    }
  }

  private async refreshGauges(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.updateGauges();
      await this.clock.sleep(GAUGES_MS, signal).catch(() => undefined);
    }
  }

  private updateGauges(): void {
    const m = this.o.metrics;
    const { services, tasks, nodes } = this.o.store.view((tx) => ({
      services: tx.services.list(),
      tasks: tx.tasks.list(),
      nodes: tx.nodes.list(),
    }));
    const names = new Map(services.map((s) => [s.id, s.spec?.name || s.id]));
    const counts = new Map<string, { state: string; service: string; n: number }>();
    let pending = 0;
    for (const t of tasks) {
      const stateNow = t.status?.state ?? TaskState.NEW;
      if (stateNow === TaskState.PENDING && t.desiredState === TaskState.RUNNING) pending++;
      const state = taskStateToJSON(stateNow)
        .replace(/^TASK_STATE_/, "")
        .toLowerCase();
      const service = names.get(t.serviceId) ?? t.serviceId;
      const key = `${state}\0${service}`;
      const c = counts.get(key) ?? { state, service, n: 0 };
      c.n += 1;
      counts.set(key, c);
    }
    m.tasks.reset();
    for (const c of counts.values()) m.tasks.set({ state: c.state, service: c.service }, c.n);
    m.pendingTasks.set(pending);
    m.dispatcherSessions.set(nodes.filter((n) => n.status?.state === NodeState.READY).length);
  }
}
