import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ManualClock, seededRandom, silentLogger } from "@shoal/base";
import { Task, TaskState, TaskStatus, type TaskStatusUpdate } from "@shoal/proto";
import { tempDir } from "@shoal/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { AgentRecords, RECORDS_FILE } from "../records/agent-records.js";
import { StatusReporter } from "./status-reporter.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup() {
  const dir = await tempDir("agent-reporter-");
  const records = await AgentRecords.open({ dir: dir.path });
  for (const id of ["a", "b"]) {
    records.put({
      task: Task.fromPartial({ id }),
      status: TaskStatus.fromPartial({ state: TaskState.ASSIGNED }),
      seq: 0,
      networkAttached: false,
    });
  }
  const clock = new ManualClock(1_000);
  const reporter = new StatusReporter({ records, clock, random: seededRandom(3), logger: silentLogger() });
  const ac = new AbortController();
  const done = reporter.run(ac.signal);
  cleanups.push(async () => {
    ac.abort();
    await done;
    await records.close();
    await dir.remove();
  });
  return { dir: dir.path, records, clock, reporter };
}

const tick = () => new Promise((r) => setTimeout(r, 5));
const status = (state: TaskState) => TaskStatus.fromPartial({ state, timestampMs: 1 });

describe("StatusReporter", () => {
  it("persists a transition before any session exists, and sends it when one does", async () => {
    const { dir, records, reporter } = await setup();
    reporter.report("a", status(TaskState.ACCEPTED));
    await records.durable();
    const reopened = await AgentRecords.open({ dir });
    expect(reopened.get("a")?.status.state).toBe(TaskState.ACCEPTED);
    await reopened.close();
    const sent: TaskStatusUpdate[][] = [];
    /** What the records file said each time a batch went out. */
    const onDisk: string[] = [];
    reporter.setSender(async (u) => {
      sent.push(u);
      onDisk.push(readFileSync(join(dir, RECORDS_FILE), "utf8"));
    });
    await tick();
    expect(sent.flat().map((u) => [u.taskId, u.status?.state])).toEqual([
      ["a", TaskState.ACCEPTED],
      ["b", TaskState.ASSIGNED],
    ]);
    reporter.report("b", status(TaskState.REJECTED));
    await tick();
    expect(sent.at(-1)?.map((u) => [u.taskId, u.status?.state])).toEqual([["b", TaskState.REJECTED]]);
    // Nothing was sent before it was on disk.
    expect(onDisk.at(-1)).toContain("TASK_STATE_REJECTED");
  });

  it("retries a failed send with backoff and loses nothing", async () => {
    const { clock, reporter } = await setup();
    let failures = 2;
    const delivered: string[] = [];
    reporter.setSender(async (u) => {
      if (failures-- > 0) throw new Error("unavailable");
      delivered.push(...u.map((x) => `${x.taskId}:${x.status?.state}`));
    });
    reporter.report("a", status(TaskState.RUNNING));
    await tick();
    expect(delivered).toEqual([]);
    await clock.advanceAsync(100);
    await tick();
    await clock.advanceAsync(200);
    await tick();
    expect(delivered).toEqual([`a:${TaskState.RUNNING}`, `b:${TaskState.ASSIGNED}`]);
  });

  it("re-reports everything after a reconnect", async () => {
    const { reporter } = await setup();
    const first: string[] = [];
    reporter.setSender(async (u) => {
      first.push(...u.map((x) => x.taskId));
    });
    await tick();
    reporter.setSender(undefined);
    reporter.report("a", status(TaskState.PREPARING));
    await tick();
    const second: string[] = [];
    reporter.setSender(async (u) => {
      second.push(...u.map((x) => `${x.taskId}:${x.status?.state}`));
    });
    await tick();
    expect(first).toEqual(["a", "b"]);
    expect(second).toEqual([`a:${TaskState.PREPARING}`, `b:${TaskState.ASSIGNED}`]);
    expect(reporter.pending()).toEqual([]);
  });

  it("delivered: resolves only once the manager acknowledged the task's last status", async () => {
    // A task rejected and then unassigned at once must not be forgotten before the REJECTED
    // report went out: the manager would keep it ASSIGNED here forever (seen in the stack e2e).
    const { records, reporter, clock } = await setup();
    reporter.report("a", status(TaskState.REJECTED));
    const seq = records.get("a")?.seq as number;
    let done = false;
    const waiting = reporter.delivered("a", seq, new AbortController().signal).then(() => {
      done = true;
    });
    await tick();
    expect(done).toBe(false);
    let fail = true;
    const sent: string[] = [];
    reporter.setSender(async (u) => {
      if (fail) throw new Error("unavailable");
      sent.push(...u.map((x) => `${x.taskId}:${x.status?.state}`));
    });
    await tick();
    expect(done).toBe(false);
    fail = false;
    reporter.setSender(async (u) => {
      sent.push(...u.map((x) => `${x.taskId}:${x.status?.state}`));
    });
    // The loop is in the failed send's backoff.
    await clock.advanceAsync(10_000);
    await waiting;
    expect(sent).toContain(`a:${TaskState.REJECTED}`);
    // Already acknowledged, or no record: at once.
    await reporter.delivered("a", seq, new AbortController().signal);
    await reporter.delivered("gone", 5, new AbortController().signal);
  });

  it("delivered: rejects when its signal aborts", async () => {
    const { reporter } = await setup();
    reporter.report("a", status(TaskState.SHUTDOWN));
    const ac = new AbortController();
    const waiting = reporter.delivered("a", 1, ac.signal);
    ac.abort();
    await expect(waiting).rejects.toThrow();
  });
});
