import { ShoalError, seededRandom, silentLogger, systemClock } from "@shoal/base";
import {
  AssignmentAction,
  type Task,
  Task as TaskCodec,
  TaskState,
  type TaskStatusUpdate,
  taskStateToJSON,
} from "@shoal/proto";
import { tempDir, waitFor } from "@shoal/testkit";
import { afterEach, describe, expect, it } from "vitest";
import type { Engine, EngineContainer } from "./executor/engine.js";
import { AgentRecords } from "./records/agent-records.js";
import { StatusReporter } from "./reporter/status-reporter.js";
import { Worker } from "./worker.js";

/**
 * A scripted engine: containers as plain objects that outlive a Worker (as real ones outlive the
 * agent), every call logged. Unit test of the controller shell; the real runtime is in test/.
 */
class ScriptedEngine implements Engine {
  readonly calls: string[] = [];
  readonly containers = new Map<string, EngineContainer & { image: string; hostname: string }>();
  images = new Set<string>();
  missingImages = new Set<string>();
  private listeners = new Set<() => void>();

  async hasImage(ref: string) {
    return this.images.has(ref);
  }
  async pull(ref: string) {
    this.calls.push(`pull ${ref}`);
    if (this.missingImages.has(ref)) {
      throw new ShoalError("IMAGE_NOT_FOUND_IN_REGISTRY", `manifest for "${ref}" not found in the registry`);
    }
    this.images.add(ref);
  }
  networkMode() {
    return "needed" as const;
  }
  async attachNetwork(task: Task) {
    this.calls.push(`attach ${task.id}`);
    return [{ protocol: "tcp" as const, targetPort: 80, publishedPort: 49200 }];
  }
  async detachNetwork(id: string) {
    this.calls.push(`detach ${id}`);
  }
  async create(task: Task) {
    this.calls.push(`create ${task.id}`);
    const c = task.spec?.container;
    this.containers.set(task.id, {
      state: "created",
      hasHealthcheck: false,
      image: c?.image ?? "",
      hostname: c?.hostname ?? "",
    });
  }
  async start(id: string) {
    this.calls.push(`start ${id}`);
    this.set(id, { state: "running", pid: 42 });
  }
  async inspect(id: string) {
    const c = this.containers.get(id);
    return c === undefined ? undefined : { ...c };
  }
  waitForChange(_id: string, signal: AbortSignal) {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.listeners.delete(done);
        resolve();
      };
      this.listeners.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
  async stop(task: Task) {
    this.calls.push(`stop ${task.id}`);
    this.set(task.id, { state: "exited", exitCode: 143 });
  }
  async remove(id: string) {
    this.calls.push(`remove ${id}`);
    this.containers.delete(id);
  }
  /** As if the process inside exited on its own. */
  exit(id: string, exitCode: number) {
    this.set(id, { state: "exited", exitCode });
  }
  private set(id: string, patch: Partial<EngineContainer>) {
    const c = this.containers.get(id);
    if (c !== undefined) this.containers.set(id, { ...c, ...patch });
    for (const l of [...this.listeners]) l();
  }
}

const node = { id: "node1", hostname: "host-a", platform: { os: "linux", architecture: "amd64" } };
const task = (id: string, desiredState: TaskState, image = "busybox", version = 1): Task =>
  TaskCodec.fromPartial({
    id,
    name: `web.1.${id}`,
    slot: 1,
    serviceId: "svc",
    desiredState,
    meta: { version },
    status: { state: TaskState.ASSIGNED },
    spec: { container: { image, hostname: "{{.Service.Name}}-{{.Task.Slot}}" } },
  });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startAgent(dir: string, engine: ScriptedEngine) {
  const records = await AgentRecords.open({ dir });
  const common = { clock: systemClock, random: seededRandom(1), logger: silentLogger() };
  const reporter = new StatusReporter({ records, ...common });
  // A manager that acknowledges every report (a task is forgotten only once its last one is).
  const sent: TaskStatusUpdate[] = [];
  reporter.setSender(async (u) => {
    sent.push(...u);
  });
  const worker = new Worker({ records, reporter, engine, node, ...common, maxTransientAttempts: 2 });
  const ac = new AbortController();
  const running = Promise.all([worker.run(ac.signal), reporter.run(ac.signal)]);
  const stop = async () => {
    if (ac.signal.aborted) return;
    ac.abort();
    await running;
    await records.close();
  };
  cleanups.push(stop);
  const state = (id: string) => taskStateToJSON(records.get(id)?.status.state ?? TaskState.NEW);
  return { records, reporter, worker, stop, state, sent };
}

async function dataDir(): Promise<string> {
  const d = await tempDir("agent-worker-");
  cleanups.push(d.remove);
  return d.path;
}

describe("Worker and task controllers", () => {
  it("runs an assigned task to RUNNING, expands its templates, and removes it when unassigned", async () => {
    const engine = new ScriptedEngine();
    const agent = await startAgent(await dataDir(), engine);
    agent.worker.applyComplete([task("t1", TaskState.RUNNING)], [], []);
    await waitFor(() => agent.state("t1") === "TASK_STATE_RUNNING", {
      description: `agent.state("t1") === "TASK_STATE_RUNNING"`,
    });
    expect(engine.calls).toEqual(["pull busybox", "attach t1", "create t1", "start t1"]);
    expect(engine.containers.get("t1")?.hostname).toBe("web-1");
    expect(agent.records.get("t1")?.status.containerStatus).toEqual({
      containerId: "t1",
      pid: 42,
      exitCode: 0,
      health: "",
    });
    agent.worker.applyComplete([], [], []);
    await waitFor(() => agent.records.get("t1") === undefined, {
      description: `agent.records.get("t1") === undefined`,
    });
    expect(engine.calls.slice(4)).toEqual(["stop t1", "remove t1", "detach t1"]);
  });

  it("rejects a task whose image the registry does not have, with the registry's words", async () => {
    const engine = new ScriptedEngine();
    engine.missingImages.add("nope:1");
    const agent = await startAgent(await dataDir(), engine);
    agent.worker.applyComplete([task("t1", TaskState.RUNNING, "nope:1")], [], []);
    await waitFor(() => agent.state("t1") === "TASK_STATE_REJECTED", {
      description: `agent.state("t1") === "TASK_STATE_REJECTED"`,
    });
    expect(agent.records.get("t1")?.status.err).toBe('manifest for "nope:1" not found in the registry');
    expect(engine.calls).toEqual(["pull nope:1"]);
  });

  it("a task rejected and unassigned at once is forgotten only after its REJECTED report is acknowledged", async () => {
    // Seen in the stack e2e: the record was deleted before the reporter sent REJECTED, so the
    // manager kept the task ASSIGNED on the node forever (and its service's network in use).
    const engine = new ScriptedEngine();
    engine.missingImages.add("nope:1");
    const agent = await startAgent(await dataDir(), engine);
    let managerUp = false;
    const acknowledged: string[] = [];
    agent.reporter.setSender(async (u) => {
      if (!managerUp) throw new Error("unavailable");
      acknowledged.push(...u.map((x) => `${x.taskId}:${taskStateToJSON(x.status?.state ?? 0)}`));
    });
    agent.worker.applyComplete([task("t1", TaskState.RUNNING, "nope:1")], [], []);
    await waitFor(() => agent.state("t1") === "TASK_STATE_REJECTED", {
      description: `agent.state("t1") === "TASK_STATE_REJECTED"`,
    });
    agent.worker.applyComplete([], [], []);
    await new Promise((r) => setTimeout(r, 50));
    expect(agent.records.get("t1")?.status.state).toBe(TaskState.REJECTED);
    managerUp = true;
    agent.reporter.setSender(async (u) => {
      acknowledged.push(...u.map((x) => `${x.taskId}:${taskStateToJSON(x.status?.state ?? 0)}`));
    });
    await waitFor(() => agent.records.get("t1") === undefined, {
      description: `agent.records.get("t1") === undefined`,
    });
    expect(acknowledged).toContain("t1:TASK_STATE_REJECTED");
  });

  it("a pull is not started over by a task update that keeps the desired state", async () => {
    const engine = new ScriptedEngine();
    let pulls = 0;
    let release: () => void = () => undefined;
    const pulled = engine.pull.bind(engine);
    engine.pull = async (ref: string, _auth?: unknown, signal?: AbortSignal) => {
      pulls++;
      await new Promise<void>((resolve, reject) => {
        release = resolve;
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
      await pulled(ref);
    };
    const agent = await startAgent(await dataDir(), engine);
    agent.worker.applyComplete([task("t1", TaskState.RUNNING)], [], []);
    await waitFor(() => pulls === 1, { description: "the pull to start" });
    // The manager wrote a status: a new version of the task, same desired state.
    agent.worker.applyComplete([task("t1", TaskState.RUNNING, "busybox", 2)], [], []);
    await new Promise((r) => setTimeout(r, 50));
    release();
    await waitFor(() => agent.state("t1") === "TASK_STATE_RUNNING", { description: "t1 running" });
    expect(pulls).toBe(1);
  });

  it("retries a transient failure with backoff, then gives the task up as REJECTED", async () => {
    const engine = new ScriptedEngine();
    let pulls = 0;
    engine.pull = async (ref: string) => {
      pulls++;
      throw new ShoalError("IMAGE_REGISTRY_UNREACHABLE", `registry of "${ref}" is unreachable`);
    };
    const agent = await startAgent(await dataDir(), engine);
    agent.worker.applyComplete([task("t1", TaskState.RUNNING, "far:1")], [], []);
    await waitFor(() => agent.state("t1") === "TASK_STATE_REJECTED", { description: "t1 rejected" });
    // maxTransientAttempts is 2 here: one retry after the first failure.
    expect(pulls).toBe(2);
    expect(agent.records.get("t1")?.status.err).toBe('registry of "far:1" is unreachable');
  });

  it("a restarted agent re-adopts its running container, learns an exit, and creates no duplicate", async () => {
    const engine = new ScriptedEngine();
    const dir = await dataDir();
    const first = await startAgent(dir, engine);
    first.worker.applyComplete([task("t1", TaskState.RUNNING), task("t2", TaskState.RUNNING)], [], []);
    await waitFor(
      () => first.state("t1") === "TASK_STATE_RUNNING" && first.state("t2") === "TASK_STATE_RUNNING",
      {
        description: "t1 and t2 running",
      },
    );
    await first.stop();
    // While the agent is away, t2's process ends.
    engine.exit("t2", 3);
    const callsBefore = engine.calls.length;
    const second = await startAgent(dir, engine);
    await waitFor(() => second.state("t2") === "TASK_STATE_FAILED", { description: "t2 failed" });
    expect(second.records.get("t2")?.status.err).toBe("task: non-zero exit (3)");
    expect(second.state("t1")).toBe("TASK_STATE_RUNNING");
    // The manager's (stale) copy arrives again: nothing is created twice.
    second.worker.applyIncremental([
      {
        action: AssignmentAction.UPDATE,
        assignment: { item: { $case: "task", value: task("t1", TaskState.RUNNING) } },
      },
    ]);
    await new Promise((r) => setTimeout(r, 50));
    // Only the failed task's network attachment goes; nothing is created or started again.
    expect(engine.calls.slice(callsBefore)).toEqual(["detach t2"]);
    expect(second.worker.taskIds().sort()).toEqual(["t1", "t2"]);
  });
});
