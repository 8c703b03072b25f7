import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { silentLogger } from "@shoal/base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogLine } from "./log-batch.js";
import { formatLogLine } from "./log-prefix.js";
import { type LogQuery, readLogs } from "./log-reader.js";
import { LogShipper, type LogSource } from "./log-shipper.js";
import { ensureLogStream } from "./log-streams.js";
import { startTestCluster, type TestCluster } from "./test-support.js";

/** conmon's k8s-file records; `P` pieces are joined by the reader. */
function records(task: string, from: number, to: number, stream = "stdout"): string {
  let out = "";
  for (let i = from; i <= to; i++) {
    const t = new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + i).toISOString().replace("Z", "123456Z");
    if (i % 50 === 0) out += `${t} ${stream} P ${task} line ${i} `.concat(`\n${t} ${stream} F (joined)\n`);
    else out += `${t} ${stream} F ${task} line ${i}\n`;
  }
  return out;
}

function numbersOf(lines: LogLine[], task: string): number[] {
  return lines.filter((l) => l.taskId === task).map((l) => Number(/line (\d+)/.exec(l.text)?.[1]));
}

async function collect(nc: NatsConnection, q: LogQuery): Promise<{ lines: LogLine[]; notices: string[] }> {
  const lines: LogLine[] = [];
  const notices: string[] = [];
  for await (const item of readLogs({ js: jetstream(nc), jsm: await jetstreamManager(nc) }, q))
    if (item.kind === "line") lines.push(item.line);
    else notices.push(item.message);
  return { lines, notices };
}

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe("log shipping and reading over a 3-server JetStream cluster", () => {
  let c: TestCluster;
  let manager: NatsConnection;
  let worker: NatsConnection;
  const sources: LogSource[] = [];
  beforeAll(async () => {
    c = await startTestCluster(3, ["w1"]);
    manager = await c.connect("m1");
    worker = await c.connect("w1");
    await ensureLogStream(await jetstreamManager(manager), "svc1", undefined, 3);
    for (const [i, task] of ["taska", "taskb"].entries()) {
      const dir = join(c.dir, "containers", task);
      await mkdir(dir, { recursive: true });
      sources.push({
        containerId: `ctr-${task}`,
        logPath: join(dir, "ctr.log"),
        taskId: task,
        serviceId: "svc1",
        serviceName: "web",
        slot: i + 1,
      });
    }
  });
  afterAll(async () => {
    await c?.stop();
  });

  const shipper = () =>
    new LogShipper({
      js: jetstream(worker),
      nodeId: "w1",
      nodeName: "node-one",
      cursorDir: join(c.dir, "cursors"),
      logger: silentLogger(),
      pollMs: 50,
      batchBytes: 8 * 1024,
    });

  it("ships every line of rotated and live files once, and reads them merged in time order", async () => {
    const [a, b] = sources as [LogSource, LogSource];
    // taska: rotated while conmon still wrote into the renamed file, then a new live file.
    await writeFile(a.logPath, records("taska", 1, 500));
    await rename(a.logPath, `${a.logPath}.1`);
    await appendFile(`${a.logPath}.1`, records("taska", 501, 600));
    await writeFile(a.logPath, records("taska", 601, 1000));
    await writeFile(b.logPath, records("taskb", 1, 700, "stderr"));
    const s = shipper();
    for (const src of sources) s.track(src);
    const ac = new AbortController();
    const running = s.run(ac.signal);
    const { lines } = await eventually(async () => {
      const r = await collect(manager, { serviceId: "svc1" });
      if (r.lines.length < 1700) throw new Error(`only ${r.lines.length} lines so far`);
      return r;
    });
    expect(numbersOf(lines, "taska")).toEqual(range(1, 1000));
    expect(numbersOf(lines, "taskb")).toEqual(range(1, 700));
    expect(lines.map((l) => l.timeMs)).toEqual([...lines.map((l) => l.timeMs)].sort((x, y) => x - y));
    const joined = lines.find((l) => l.taskId === "taska" && l.text.startsWith("taska line 50 "));
    expect(joined?.text).toBe("taska line 50 (joined)");
    expect(formatLogLine(lines.find((l) => l.taskId === "taska") as LogLine)).toMatch(
      /^web\.1\.taska@node-one {4}\| taska line 1$/,
    );
    ac.abort();
    await running;
  });

  it("resumes after a restart without losing or repeating a line, also when the last batch was in flight", async () => {
    const [a] = sources as [LogSource];
    await appendFile(a.logPath, records("taska", 1001, 1200));
    // As if the shipper died after the server stored its last batch but before it noted the ack.
    const cursorPath = join(c.dir, "cursors", `${a.containerId}.json`);
    const saved = JSON.parse(await readFile(cursorPath, "utf8"));
    const last = saved.acked;
    await writeFile(
      cursorPath,
      JSON.stringify({
        acked: { ino: last.ino, offset: 0 },
        inflight: { ino: last.ino, start: 0, end: last.offset },
      }),
    );
    const s = shipper();
    for (const src of sources) s.track(src);
    const ac = new AbortController();
    const running = s.run(ac.signal);
    const lines = await eventually(async () => {
      const r = await collect(manager, { serviceId: "svc1", taskId: "taska" });
      if (r.lines.length < 1200) throw new Error(`only ${r.lines.length} lines so far`);
      return r.lines;
    });
    // Wait a little for any duplicate to land, then check the exact list.
    await new Promise((r) => setTimeout(r, 1000));
    const again = (await collect(manager, { serviceId: "svc1", taskId: "taska" })).lines;
    expect(numbersOf(again, "taska")).toEqual(range(1, 1200));
    expect(lines.every((l) => l.taskId === "taska")).toBe(true);
    ac.abort();
    await running;
  });

  it("follows new lines, tails, and keeps flowing while one nats-server is killed and restarted", async () => {
    const [, b] = sources as [LogSource, LogSource];
    const s = shipper();
    for (const src of sources) s.track(src);
    const ac = new AbortController();
    const running = s.run(ac.signal);
    const follow = new AbortController();
    const seen: LogLine[] = [];
    const following = (async () => {
      for await (const item of readLogs(
        { js: jetstream(manager), jsm: await jetstreamManager(manager) },
        { serviceId: "svc1", taskId: "taskb", tail: 2, follow: true, signal: follow.signal },
      ))
        if (item.kind === "line") seen.push(item.line);
    })();
    await eventually(async () => {
      if (seen.length < 2) throw new Error("tail not shown yet");
    });
    expect(numbersOf(seen, "taskb")).toEqual([699, 700]);
    const victim = c.servers[1];
    const pid = victim?.pid as number;
    process.kill(pid, "SIGKILL");
    await appendFile(b.logPath, records("taskb", 701, 800, "stderr"));
    await eventually(async () => {
      if (seen.length < 102) throw new Error(`follow saw ${seen.length} lines`);
    });
    expect(numbersOf(seen, "taskb")).toEqual([699, ...range(700, 800)]);
    await eventually(async () => {
      if (victim?.pid === undefined || victim.pid === pid) throw new Error("not restarted yet");
    });
    follow.abort();
    await following;
    ac.abort();
    await running;
  });

  it("ships a service's lines once its stream exists, without holding up the others meanwhile", async () => {
    const dir = join(c.dir, "containers", "taskc");
    await mkdir(dir, { recursive: true });
    const late: LogSource = {
      containerId: "ctr-taskc",
      logPath: join(dir, "ctr.log"),
      taskId: "taskc",
      serviceId: "svc2",
      serviceName: "api",
      slot: 1,
    };
    await writeFile(late.logPath, records("taskc", 1, 300));
    const [a] = sources as [LogSource];
    await appendFile(a.logPath, records("taska", 1201, 1300));
    const s = shipper();
    for (const src of [late, ...sources]) s.track(src);
    const ac = new AbortController();
    const running = s.run(ac.signal);
    await eventually(async () => {
      const r = await collect(manager, { serviceId: "svc1", taskId: "taska" });
      if (r.lines.length < 1300) throw new Error(`only ${r.lines.length} lines so far`);
    });
    await ensureLogStream(await jetstreamManager(manager), "svc2", undefined, 3);
    const lines = await eventually(async () => {
      const r = await collect(manager, { serviceId: "svc2" });
      if (r.lines.length < 300) throw new Error(`only ${r.lines.length} lines so far`);
      return r.lines;
    });
    expect(numbersOf(lines, "taskc")).toEqual(range(1, 300));
    ac.abort();
    await running;
  });

  it("says so when a service has no stream, or retention left nothing", async () => {
    const none = await collect(manager, { serviceId: "nosuch" });
    expect(none.lines).toEqual([]);
    expect(none.notices[0]).toMatch(/no logs are stored for service "nosuch"/);
    const jsm = await jetstreamManager(manager);
    await ensureLogStream(jsm, "short", { maxAgeMs: 1000, maxBytes: 1024 * 1024 }, 1);
    await jetstream(manager).publish(
      "shoal.logs.m1.short.t1",
      Buffer.from('{"t":"t1","s":"short","sn":"x","sl":1,"n":"m1","nn":"m1","l":[]}'),
    );
    const gone = await eventually(async () => {
      const r = await collect(manager, { serviceId: "short" });
      if (r.notices.length === 0) throw new Error("still there");
      return r;
    });
    expect(gone.notices[0]).toMatch(/retention of service "short" has removed all its lines/);
  });
});
