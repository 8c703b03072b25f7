// logs_lines_per_s_one_node: 4 containers' logs (50,000 lines each, already written) shipped by
// one node's LogShipper into one nats-server until every line is stored (acknowledged).
// logs_follow_latency_p50_ms: a line appended to a log until a following reader yields it.
// events_latency_p50_ms: a store change until a following events reader yields it.
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { ManualClock, percentile, reportFigure, seededRandom, silentLogger } from "@shoal/base";
import { Service } from "@shoal/proto";
import { Store } from "@shoal/store";
import { EventPublisher, ensureEventStream, readEvents } from "../src/events.js";
import { readLogs } from "../src/log-reader.js";
import { LogShipper, type LogSource } from "../src/log-shipper.js";
import { ensureLogStream } from "../src/log-streams.js";
import { startTestCluster } from "../src/test-support.js";

const CONTAINERS = 4;
const LINES = 50_000;

function record(i: number, text: string): string {
  return `${new Date().toISOString().replace("Z", "000000Z")} stdout F ${text} ${i}\n`;
}

export async function run(): Promise<void> {
  const c = await startTestCluster(1, ["w1"]);
  try {
    const manager = await c.connect("m1");
    const worker = await c.connect("w1");
    const jsm = await jetstreamManager(manager);
    await ensureLogStream(jsm, "svc1");
    const sources: LogSource[] = [];
    for (let k = 0; k < CONTAINERS; k++) {
      const dir = join(c.dir, "containers", `c${k}`);
      await mkdir(dir, { recursive: true });
      let text = "";
      for (let i = 0; i < LINES; i++)
        text += record(i, "a log line of a typical length, say sixty bytes or so");
      const logPath = join(dir, "ctr.log");
      await writeFile(logPath, text);
      sources.push({
        containerId: `c${k}`,
        logPath,
        taskId: `task${k}`,
        serviceId: "svc1",
        serviceName: "web",
        slot: k + 1,
      });
    }
    let published = 0;
    let done: () => void = () => undefined;
    const all = new Promise<void>((r) => {
      done = r;
    });
    const shipper = new LogShipper({
      js: jetstream(worker),
      nodeId: "w1",
      nodeName: "w1",
      cursorDir: join(c.dir, "cursors"),
      logger: silentLogger(),
      onPublished: (n) => {
        published += n;
        if (published >= CONTAINERS * LINES) done();
      },
    });
    const t0 = performance.now();
    for (const s of sources) shipper.track(s);
    const ac = new AbortController();
    const running = shipper.run(ac.signal);
    await all;
    const seconds = (performance.now() - t0) / 1000;
    reportFigure("logs_lines_per_s_one_node", Math.round((CONTAINERS * LINES) / seconds), "lines/s");

    // Follow latency: one line at a time into the first container's log.
    const follow = new AbortController();
    const arrivals = new Map<number, number>();
    const first = sources[0] as LogSource;
    const reader = (async () => {
      for await (const item of readLogs(
        { js: jetstream(manager), jsm },
        { serviceId: "svc1", taskId: first.taskId, tail: 0, follow: true, signal: follow.signal },
      )) {
        const m = item.kind === "line" ? /^probe (\d+)$/.exec(item.line.text) : null;
        if (m !== null) arrivals.set(Number(m[1]), performance.now());
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    const followMs: number[] = [];
    // Lines come at random moments relative to the shipper's 200 ms poll (seeded, so runs compare).
    const random = seededRandom(19);
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, random.int(300)));
      const t = performance.now();
      await appendFile(first.logPath, record(i, "probe"));
      while (!arrivals.has(i)) await new Promise((r) => setTimeout(r, 2));
      followMs.push((arrivals.get(i) as number) - t);
    }
    reportFigure("logs_follow_latency_p50_ms", percentile(followMs, 50), "ms");
    follow.abort();
    await reader;
    ac.abort();
    await running;

    // Event latency: a service created in the store until a follower sees its event.
    await ensureEventStream(jsm);
    const store = new Store({ clock: new ManualClock(1000), random: seededRandom(1) });
    const pubAbort = new AbortController();
    const publisher = new EventPublisher({ js: jetstream(manager), store, logger: silentLogger() });
    const publishing = publisher.run(pubAbort.signal);
    const seen = new Map<string, number>();
    const evFollow = new AbortController();
    const evReader = (async () => {
      for await (const e of readEvents({ js: jetstream(manager) }, { follow: true, signal: evFollow.signal }))
        seen.set(e.id, performance.now());
    })();
    await new Promise((r) => setTimeout(r, 500));
    const eventMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await store.update((tx) =>
        tx.services.create(Service.fromPartial({ id: `s${i}`, spec: { name: `svc${i}` } })),
      );
      while (!seen.has(`s${i}`)) await new Promise((r) => setTimeout(r, 2));
      eventMs.push((seen.get(`s${i}`) as number) - t);
    }
    reportFigure("events_latency_p50_ms", percentile(eventMs, 50), "ms");
    evFollow.abort();
    await evReader;
    pubAbort.abort();
    await publishing;
  } finally {
    await c.stop();
  }
}
