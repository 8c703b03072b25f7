import type { RuntimeEngine } from "@shoal/agent";
import { ManualClock } from "@shoal/base";
import { loadMetrics, type ShoalMetrics } from "@shoal/bus";
import { Task, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { MeteredEngine } from "./metered-engine.js";

/** The calls the metered engine passes on, and the time they take on the clock. */
function fakeEngine(clock: ManualClock) {
  const calls: string[] = [];
  const inner = {
    images: { get: () => ({ sizeBytes: 4096 }) },
    pull: async (ref: string) => {
      calls.push(`pull ${ref}`);
      clock.advance(1500);
    },
    create: async (task: Task) => {
      calls.push(`create ${task.id}`);
    },
    start: async (id: string) => {
      calls.push(`start ${id}`);
      clock.advance(500);
    },
  };
  return { calls, inner: inner as unknown as RuntimeEngine };
}

const value = async (m: ShoalMetrics, name: string) =>
  (await m.registry.getSingleMetricAsString(name)).split("\n").filter((l) => !l.startsWith("#"));

describe("MeteredEngine", () => {
  it("times pulls, counts the image's bytes, and measures a task from ASSIGNED to started", async () => {
    const clock = new ManualClock(10_000);
    const metrics = await loadMetrics();
    const { calls, inner } = fakeEngine(clock);
    const engine = new MeteredEngine(inner, metrics, clock);
    await engine.pull("r/busybox:1", undefined, new AbortController().signal);
    const task = Task.fromPartial({
      id: "t1",
      status: { state: TaskState.ASSIGNED, timestampMs: 9_000 },
    });
    await engine.create(task, {} as never, []);
    await engine.start("t1");
    expect(calls).toEqual(["pull r/busybox:1", "create t1", "start t1"]);
    expect(await value(metrics, "shoal_image_pull_bytes_total")).toContain(
      "shoal_image_pull_bytes_total 4096",
    );
    expect(await value(metrics, "shoal_image_pull_duration_seconds")).toContain(
      "shoal_image_pull_duration_seconds_sum 1.5",
    );
    // Assigned at 9.0 s, started at 12.0 s (pull 1.5 s + start 0.5 s after 10 s).
    expect(await value(metrics, "shoal_agent_task_start_latency_seconds")).toContain(
      "shoal_agent_task_start_latency_seconds_sum 3",
    );
    // A start without a create (a container re-adopted after a restart) is not measured.
    await engine.start("t1");
    expect(await value(metrics, "shoal_agent_task_start_latency_seconds")).toContain(
      "shoal_agent_task_start_latency_seconds_count 1",
    );
  });
});
