import { Counter, Gauge, Histogram, Registry } from "prom-client";

const SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Every Shoal metric, on one registry per process (manager and agent share the names; each
 * process updates those it owns). Names follow Prometheus' conventions: base units, `_total` for
 * counters.
 */
export function createMetrics(registry = new Registry()) {
  const r = [registry];
  return {
    registry,
    tasks: new Gauge({
      name: "shoal_tasks",
      help: "Tasks by state and service",
      labelNames: ["state", "service"],
      registers: r,
    }),
    schedulingLatency: new Histogram({
      name: "shoal_scheduling_latency_seconds",
      help: "Time from a task's creation to its assignment to a node",
      buckets: SECONDS,
      registers: r,
    }),
    pendingTasks: new Gauge({
      name: "shoal_pending_tasks",
      help: "Tasks the scheduler could not place yet",
      registers: r,
    }),
    raftTerm: new Gauge({ name: "shoal_raft_term", help: "Current Raft term", registers: r }),
    raftCommitLatency: new Histogram({
      name: "shoal_raft_commit_latency_seconds",
      help: "Time from a proposal to its commit",
      buckets: SECONDS,
      registers: r,
    }),
    leaderChanges: new Counter({
      name: "shoal_leader_changes_total",
      help: "Leader changes seen",
      registers: r,
    }),
    dispatcherSessions: new Gauge({
      name: "shoal_dispatcher_sessions",
      help: "Agents with an open session",
      registers: r,
    }),
    heartbeatMisses: new Counter({
      name: "shoal_heartbeat_misses_total",
      help: "Heartbeats not received in time",
      registers: r,
    }),
    taskStartLatency: new Histogram({
      name: "shoal_agent_task_start_latency_seconds",
      help: "Time from a task's assignment to its container running",
      buckets: SECONDS,
      registers: r,
    }),
    imagePullBytes: new Counter({
      name: "shoal_image_pull_bytes_total",
      help: "Image bytes downloaded",
      registers: r,
    }),
    imagePullDuration: new Histogram({
      name: "shoal_image_pull_duration_seconds",
      help: "Duration of image pulls",
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300],
      registers: r,
    }),
    containerRestarts: new Counter({
      name: "shoal_container_restarts_total",
      help: "Containers started again for a task's slot",
      labelNames: ["service"],
      registers: r,
    }),
    logLinesPublished: new Counter({
      name: "shoal_log_lines_published_total",
      help: "Container log lines stored in JetStream",
      registers: r,
    }),
  };
}
export type ShoalMetrics = ReturnType<typeof createMetrics>;
