// The dispatcher session against real gRPC with mTLS: test dispatchers on loopback, node
// certificates from @shoal/pki, the real status reporter and records.
import { seededRandom, silentLogger, systemClock } from "@shoal/base";
import { AssignmentAction, type AssignmentChange, Task, TaskState, TaskStatus } from "@shoal/proto";
import { tempDir, waitFor } from "@shoal/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { describeNode } from "../src/node-description.js";
import { AgentRecords } from "../src/records/agent-records.js";
import { StatusReporter } from "../src/reporter/status-reporter.js";
import { DispatcherSession } from "../src/session/dispatcher-session.js";
import type { AssignmentSink } from "../src/worker.js";
import { TestDispatcher, testPki } from "./dispatcher-server.js";

const NODE_ID = "agentnode0000000000000001";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class RecordingSink implements AssignmentSink {
  readonly events: string[] = [];
  applyComplete(tasks: Task[]) {
    this.events.push(`complete ${tasks.map((t) => t.id).join(",")}`);
  }
  applyIncremental(changes: AssignmentChange[]) {
    const ids = changes.map((c) => {
      const item = c.assignment?.item;
      return `${c.action === AssignmentAction.REMOVE ? "-" : "+"}${item?.$case === "overlay" ? "overlay" : item?.value.id}`;
    });
    this.events.push(`incremental ${ids.join(",")}`);
  }
}

async function agent(managers: string[], pki: Awaited<ReturnType<typeof testPki>>) {
  const dir = await tempDir("agent-session-");
  const records = await AgentRecords.open({ dir: dir.path });
  for (const id of ["t1", "t2"]) {
    records.put({
      task: Task.fromPartial({ id }),
      status: TaskStatus.fromPartial({ state: TaskState.RUNNING }),
      seq: 1,
      networkAttached: false,
    });
  }
  const common = { clock: systemClock, random: seededRandom(5), logger: silentLogger() };
  const reporter = new StatusReporter({ records, ...common });
  const sink = new RecordingSink();
  const session = new DispatcherSession({
    managers: managers.map((addr) => ({ addr, weight: 1 })),
    credentials: pki.credentials,
    channelOptions: pki.channelOptions,
    describe: () => describeNode({ hostname: "agent-host", addresses: ["10.9.0.2"] }),
    assignments: sink,
    reporter,
    ...common,
  });
  const ac = new AbortController();
  const running = Promise.all([session.run(ac.signal), reporter.run(ac.signal)]);
  cleanups.push(async () => {
    ac.abort();
    await running;
    await records.close();
    await dir.remove();
  });
  return { session, sink, reporter, records };
}

const task = (id: string) => Task.fromPartial({ id, desiredState: TaskState.RUNNING });
const update = (id: string): AssignmentChange => ({
  action: AssignmentAction.UPDATE,
  assignment: { item: { $case: "task", value: task(id) } },
});

describe("DispatcherSession", () => {
  it("opens one session over mTLS, heartbeats at the server's period, applies assignments, reports statuses", async () => {
    const pki = await testPki(NODE_ID);
    const d = await TestDispatcher.start({
      root: pki.root,
      nodeId: "manager1",
      heartbeatPeriodMs: 300,
      tasks: () => [task("t1")],
    });
    cleanups.push(() => d.kill());
    const a = await agent([d.addr], pki);
    await waitFor(() => d.openStreams() === 1 && a.sink.events.length === 1, {
      description: "assignments stream open",
    });
    expect(d.sessions).toHaveLength(1);
    expect(d.sessions[0]?.caller).toBe(NODE_ID);
    expect(d.sessions[0]?.request.description).toMatchObject({
      hostname: "agent-host",
      addresses: ["10.9.0.2"],
    });
    d.push([
      update("t3"),
      { action: AssignmentAction.REMOVE, assignment: { item: { $case: "task", value: task("t1") } } },
    ]);
    await waitFor(() => a.sink.events.length === 2, { description: "increment applied" });
    expect(a.sink.events).toEqual(["complete t1", "incremental +t3,-t1"]);
    // Everything recorded is reported once the session is up, then each new transition.
    await waitFor(() => d.updates.length === 2, { description: "initial reports" });
    a.reporter.report("t2", TaskStatus.fromPartial({ state: TaskState.COMPLETE }));
    await waitFor(() => d.updates.length === 3, { description: "new transition reported" });
    expect(d.updates.map((u) => `${u.taskId}:${u.status?.state}`)).toEqual([
      `t1:${TaskState.RUNNING}`,
      `t2:${TaskState.RUNNING}`,
      `t2:${TaskState.COMPLETE}`,
    ]);
    await waitFor(() => d.heartbeatsAtMs.length >= 4, { description: "four heartbeats" });
    const gaps = d.heartbeatsAtMs.slice(1).map((t, i) => t - (d.heartbeatsAtMs[i] ?? 0));
    // The agent waits the period the server returned between heartbeats (never hammers it).
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(290);
    expect(d.sessions).toHaveLength(1);
  });

  it("fails over along the manager list when its manager dies, and re-reports everything", async () => {
    const pki = await testPki(NODE_ID);
    let bAddr = "";
    const a1 = await TestDispatcher.start({
      root: pki.root,
      nodeId: "manager1",
      heartbeatPeriodMs: 200,
      advertise: () => [a1.addr, bAddr],
    });
    const b = await TestDispatcher.start({ root: pki.root, nodeId: "manager2", heartbeatPeriodMs: 200 });
    bAddr = b.addr;
    cleanups.push(() => b.kill());
    // The agent knows only the first manager; it learns the second from the session message.
    const a = await agent([a1.addr], pki);
    await waitFor(() => a1.updates.length === 2, { description: "reports to the first manager" });
    expect(a.session.managers().map((m) => m.addr)).toEqual([a1.addr, b.addr]);
    a1.kill();
    await waitFor(() => b.updates.length === 2, { description: "the second manager has every status again" });
    expect(b.sessions).toHaveLength(1);
    // The new session names the old one, so a dispatcher could keep its state.
    expect(b.sessions[0]?.request.previousSessionId).toBe(a1.sessions[0]?.sessionId);
    expect(a.session.currentSessionId()).toBe(b.sessions[0]?.sessionId);
  });

  it("goes to the leader a refusing follower names, even one missing from its manager list", async () => {
    const pki = await testPki(NODE_ID);
    const leader = await TestDispatcher.start({ root: pki.root, nodeId: "manager2", heartbeatPeriodMs: 200 });
    cleanups.push(() => leader.kill());
    const follower = await TestDispatcher.start({
      root: pki.root,
      nodeId: "manager1",
      heartbeatPeriodMs: 200,
      followerOf: () => leader.addr,
    });
    cleanups.push(() => follower.kill());
    // The agent knows only the follower (a stale list, as after a join through it).
    const a = await agent([follower.addr], pki);
    await waitFor(() => leader.updates.length === 2, { description: "reports to the named leader" });
    expect(follower.refused).toBe(1);
    expect(follower.sessions).toEqual([]);
    expect(leader.sessions).toHaveLength(1);
    expect(a.session.currentSessionId()).toBe(leader.sessions[0]?.sessionId);
  });

  it("keeps retrying while no manager answers, tells the worker nothing, and comes back", async () => {
    const pki = await testPki(NODE_ID);
    const first = await TestDispatcher.start({ root: pki.root, nodeId: "manager1", heartbeatPeriodMs: 200 });
    const addr = first.addr;
    first.kill();
    const a = await agent([addr], pki);
    await new Promise((r) => setTimeout(r, 700));
    expect(a.sink.events).toEqual([]);
    // The manager comes back on the same address: the agent's backoff brings it back in.
    const port = Number(addr.split(":")[1]);
    const again = await TestDispatcher.start({
      root: pki.root,
      nodeId: "manager1",
      heartbeatPeriodMs: 200,
      port,
    });
    cleanups.push(() => again.kill());
    await waitFor(() => again.updates.length === 2, {
      description: "reports after the manager is back",
      timeoutMs: 20_000,
    });
    await waitFor(() => a.sink.events.length === 1, { description: "the complete set of the new session" });
    expect(a.sink.events).toEqual(["complete "]);
  });

  it("opens no session with a certificate from another cluster's root", async () => {
    const pki = await testPki(NODE_ID);
    const stranger = await testPki(NODE_ID);
    const d = await TestDispatcher.start({ root: pki.root, nodeId: "manager1", heartbeatPeriodMs: 200 });
    cleanups.push(() => d.kill());
    const a = await agent([d.addr], stranger);
    await new Promise((r) => setTimeout(r, 1000));
    expect(d.sessions).toEqual([]);
    expect(d.updates).toEqual([]);
    expect(a.session.currentSessionId()).toBe("");
  });

  it("reconnects for a complete set when an increment does not follow the set it holds", async () => {
    const pki = await testPki(NODE_ID);
    const d = await TestDispatcher.start({
      root: pki.root,
      nodeId: "manager1",
      heartbeatPeriodMs: 200,
      tasks: () => [task("t1")],
    });
    cleanups.push(() => d.kill());
    const a = await agent([d.addr], pki);
    await waitFor(() => d.openStreams() === 1 && a.sink.events.length === 1, { description: "first set" });
    d.push([update("t9")], "some-other-set");
    await waitFor(() => d.sessions.length === 2 && a.sink.events.length === 2, {
      description: "second session",
    });
    expect(a.sink.events).toEqual(["complete t1", "complete t1"]);
  });
});
