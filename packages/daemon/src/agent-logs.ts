// The agent's log shipping (issue 19): a LogShipper over the node's containers, connected to the
// managers' nats-servers by the node's certificate. Containers are looked up every second: a new
// one is tracked (its runtime log file), a removed one untracked (shipped to its end first).
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { RuntimeEngine } from "@shoal/agent";
import { type Logger, systemClock } from "@shoal/base";
import { connectBus, LogShipper } from "@shoal/bus";
import type { NodeTlsMaterial } from "@shoal/pki";
import { LABEL_SERVICE_ID, LABEL_SERVICE_NAME, LABEL_TASK_ID, LABEL_TASK_SLOT } from "@shoal/runtime";
import { natsTls } from "./manager-bus.js";

const SCAN_MS = 1_000;

export interface AgentLogsOptions {
  dataDir: string;
  nodeId: string;
  nodeName: string;
  engine: RuntimeEngine;
  servers: readonly string[];
  tls: NodeTlsMaterial;
  logger: Logger;
  onPublished?: (lines: number) => void;
}

export class AgentLogs {
  private readonly stop = new AbortController();
  private readonly tracked = new Set<string>();
  private runs: Promise<unknown> = Promise.resolve();
  private nc: NatsConnection | undefined;

  private constructor(
    private readonly o: AgentLogsOptions,
    private readonly log: Logger,
  ) {}

  /** Starts in the background: a manager's server that is not up yet is waited for. */
  static start(o: AgentLogsOptions): AgentLogs {
    const a = new AgentLogs(o, o.logger.child({ module: "daemon/agent-logs" }));
    a.runs = a.run().catch((err: unknown) => {
      if (!a.stop.signal.aborted) a.log.warn({ err }, "log shipping stopped");
    });
    return a;
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    let nc: NatsConnection | undefined;
    while (nc === undefined) {
      try {
        nc = await connectBus({ servers: this.o.servers, nodeId: this.o.nodeId, tls: natsTls(this.o.tls) });
      } catch (err) {
        if (signal.aborted) return;
        this.log.debug({ err }, "no nats-server answers yet; again in a second");
        await sleep(SCAN_MS, signal);
      }
    }
    this.nc = nc;
    if (signal.aborted) return;
    const shipper = new LogShipper({
      js: jetstream(nc),
      nodeId: this.o.nodeId,
      nodeName: this.o.nodeName,
      cursorDir: join(this.o.dataDir, "log-cursors"),
      logger: this.o.logger,
      ...(this.o.onPublished === undefined ? {} : { onPublished: this.o.onPublished }),
    });
    const shipping = shipper.run(signal);
    while (!signal.aborted) {
      try {
        await this.scan(shipper);
      } catch (err) {
        this.log.debug({ err }, "container scan failed");
      }
      await sleep(SCAN_MS, signal);
    }
    await shipping;
  }

  private async scan(shipper: LogShipper): Promise<void> {
    const now = new Set<string>();
    for (const c of await this.o.engine.runtime.list()) {
      const taskId = c.labels[LABEL_TASK_ID];
      const serviceId = c.labels[LABEL_SERVICE_ID];
      if (taskId === undefined || serviceId === undefined) continue;
      now.add(c.id);
      if (this.tracked.has(c.id)) continue;
      shipper.track({
        containerId: c.id,
        logPath: c.logPath,
        taskId,
        serviceId,
        serviceName: c.labels[LABEL_SERVICE_NAME] ?? serviceId,
        slot: Number(c.labels[LABEL_TASK_SLOT] ?? 0),
      });
      this.tracked.add(c.id);
    }
    for (const id of this.tracked) {
      if (now.has(id)) continue;
      shipper.untrack(id);
      this.tracked.delete(id);
    }
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.runs;
    await this.nc?.close().catch(() => undefined);
  }
}

/** Waits `ms`, or less when `signal` aborts (the loops then see it and end). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return systemClock.sleep(ms, signal).catch(() => undefined);
}
