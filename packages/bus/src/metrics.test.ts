import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { createMetrics } from "./metrics.js";
import { MetricsServer } from "./metrics-server.js";

const NAMES = [
  "shoal_tasks",
  "shoal_scheduling_latency_seconds",
  "shoal_pending_tasks",
  "shoal_raft_term",
  "shoal_raft_commit_latency_seconds",
  "shoal_leader_changes_total",
  "shoal_dispatcher_sessions",
  "shoal_heartbeat_misses_total",
  "shoal_agent_task_start_latency_seconds",
  "shoal_image_pull_bytes_total",
  "shoal_image_pull_duration_seconds",
  "shoal_container_restarts_total",
  "shoal_log_lines_published_total",
];

async function scrape(url: string) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return parsePrometheusTextFormat(await res.text());
}

describe("/metrics", () => {
  it("serves every metric in Prometheus text format, and the figures move", async () => {
    const m = createMetrics();
    const server = await MetricsServer.open({ host: "127.0.0.1", port: 0 }, m.registry);
    const url = `http://127.0.0.1:${server.address.port}/metrics`;
    try {
      const before = await scrape(url);
      expect(before.map((f) => f.name).sort()).toEqual([...NAMES].sort());
      m.tasks.set({ state: "running", service: "web" }, 3);
      m.taskStartLatency.observe(0.2);
      m.logLinesPublished.inc(1000);
      m.raftTerm.set(4);
      const after = await scrape(url);
      const family = (name: string) => after.find((f) => f.name === name);
      expect(family("shoal_tasks")?.metrics).toEqual([
        { value: "3", labels: { state: "running", service: "web" } },
      ]);
      expect(family("shoal_agent_task_start_latency_seconds")?.type).toBe("HISTOGRAM");
      expect(family("shoal_agent_task_start_latency_seconds")?.metrics[0]?.count).toBe("1");
      expect(family("shoal_log_lines_published_total")?.metrics[0]?.value).toBe("1000");
      expect(family("shoal_raft_term")?.metrics[0]?.value).toBe("4");
      expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("names the address it cannot bind", async () => {
    const m = createMetrics();
    const a = await MetricsServer.open({ host: "127.0.0.1", port: 0 }, m.registry);
    try {
      await expect(MetricsServer.open(a.address, m.registry)).rejects.toMatchObject({
        code: "BUS_METRICS_LISTEN_FAILED",
        message: expect.stringContaining(`127.0.0.1:${a.address.port}`),
      });
    } finally {
      await a.close();
    }
  });
});
