import { spawn } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ShoalError } from "@shoal/base";
import { Task, TaskState, TaskStatus } from "@shoal/proto";
import { tempDir } from "@shoal/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { AgentErrorCode } from "../errors.js";
import { AgentRecords, RECORDS_FILE, type TaskRecord } from "./agent-records.js";

const dirs: { remove(): Promise<void> }[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await d.remove();
});
async function dir(): Promise<string> {
  const d = await tempDir("agent-records-");
  dirs.push(d);
  return d.path;
}
const record = (id: string, state: TaskState, seq = 1): TaskRecord => ({
  task: Task.fromPartial({ id, desiredState: TaskState.RUNNING, spec: { container: { image: "busybox" } } }),
  status: TaskStatus.fromPartial({ state, message: "m" }),
  seq,
  networkAttached: seq % 2 === 0,
});

describe("AgentRecords", () => {
  it("keeps puts and deletes across a reopen, and compacts its log", async () => {
    const path = await dir();
    const a = await AgentRecords.open({ dir: path });
    for (let i = 0; i < 200; i++) a.put(record(`t${i % 10}`, TaskState.RUNNING, i));
    a.delete("t3");
    await a.close();
    const lines = readFileSync(join(path, RECORDS_FILE), "utf8").trim().split("\n").length;
    expect(lines).toBeLessThan(100);
    const b = await AgentRecords.open({ dir: path });
    expect(
      b
        .all()
        .map((r) => r.task.id)
        .sort(),
    ).toEqual(["t0", "t1", "t2", "t4", "t5", "t6", "t7", "t8", "t9"]);
    expect(b.get("t9")).toEqual(record("t9", TaskState.RUNNING, 199));
    await b.close();
  });

  it("drops a torn last line and appends after it", async () => {
    const path = await dir();
    const a = await AgentRecords.open({ dir: path });
    a.put(record("t1", TaskState.RUNNING));
    await a.close();
    appendFileSync(join(path, RECORDS_FILE), '{"id":"t2","task":{"id"');
    const b = await AgentRecords.open({ dir: path });
    expect(b.all().map((r) => r.task.id)).toEqual(["t1"]);
    b.put(record("t3", TaskState.COMPLETE));
    await b.close();
    const c = await AgentRecords.open({ dir: path });
    expect(c.all().map((r) => r.task.id)).toEqual(["t1", "t3"]);
    await c.close();
  });

  it("writes the puts of one tick together, and durable() resolves once they are in the file", async () => {
    const path = await dir();
    const a = await AgentRecords.open({ dir: path });
    a.put(record("t1", TaskState.ACCEPTED));
    a.put(record("t2", TaskState.PREPARING));
    a.delete("t1");
    // In memory at once, on disk only after the group write.
    expect(a.all().map((r) => r.task.id)).toEqual(["t2"]);
    expect(readFileSync(join(path, RECORDS_FILE), "utf8")).toBe("");
    const first = a.durable();
    a.put(record("t3", TaskState.RUNNING));
    expect(a.durable()).toBe(first); // the same group, not yet started
    await first;
    const lines = readFileSync(join(path, RECORDS_FILE), "utf8").trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(["t1", "t2", "t1", "t3"]);
    // Puts made while a write is in flight go in the next one, after it.
    a.put(record("t4", TaskState.RUNNING));
    const second = a.durable();
    await new Promise((r) => setImmediate(r));
    a.put(record("t5", TaskState.RUNNING));
    await a.durable();
    await second;
    await a.close();
    const b = await AgentRecords.open({ dir: path });
    expect(
      b
        .all()
        .map((r) => r.task.id)
        .sort(),
    ).toEqual(["t2", "t3", "t4", "t5"]);
    await b.close();
  });

  it("close() writes what is queued; a put after it throws AGENT_RECORDS_CLOSED", async () => {
    const path = await dir();
    const a = await AgentRecords.open({ dir: path });
    a.put(record("t1", TaskState.RUNNING));
    await a.close();
    let thrown: unknown;
    try {
      a.put(record("t2", TaskState.RUNNING));
    } catch (err) {
      thrown = err;
    }
    expect(ShoalError.is(thrown, AgentErrorCode.RecordsClosed)).toBe(true);
    const b = await AgentRecords.open({ dir: path });
    expect(b.all().map((r) => r.task.id)).toEqual(["t1"]);
    await b.close();
  });

  it("refuses a corrupt line in the middle, naming the file and line", async () => {
    const path = await dir();
    writeFileSync(
      join(path, RECORDS_FILE),
      '{"id":"a","deleted":true}\nnot json\n{"id":"b","deleted":true}\n',
    );
    const err = await AgentRecords.open({ dir: path }).catch((e: unknown) => e);
    expect(ShoalError.is(err, AgentErrorCode.RecordsCorrupt)).toBe(true);
    expect((err as Error).message).toMatch(/agent-records\.jsonl" line 2 is not JSON/);
  });

  it("loses no acknowledged record when the writing process is SIGKILLed", async () => {
    const path = await dir();
    const fixture = fileURLToPath(new URL("../../test/fixtures/records-writer.ts", import.meta.url));
    const child = spawn(process.execPath, ["--conditions=shoal-source", "--import", "tsx", fixture, path], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.split("\n").length > 300) resolve();
      });
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const acknowledged = out.split("\n").filter((l) => l !== "");
    const records = await AgentRecords.open({ dir: path });
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    for (const id of acknowledged) {
      const i = Number(id.slice(4));
      // Every third put deletes the one before it (task i+1's put is followed by the delete of
      // task i, then task i+1 is printed): such a task is gone once its successor was printed,
      // and may be gone when the kill fell between that delete and the print. All others stay.
      const deletable = (i + 1) % 3 === 0;
      const successorPrinted = acknowledged.includes(`task${i + 1}`);
      if (!deletable) expect(records.get(id)?.task.id, id).toBe(id);
      else if (successorPrinted) expect(records.get(id), id).toBeUndefined();
    }
    await records.close();
  });
});
