import type * as grpc from "@grpc/grpc-js";
import { type Clock, type Logger, type Random, systemClock, systemRandom } from "@shoal/base";
import type { Engine } from "./executor/engine.js";
import { describeNode, type NodeDescriptionOptions } from "./node-description.js";
import { AgentRecords } from "./records/agent-records.js";
import { StatusReporter } from "./reporter/status-reporter.js";
import { DispatcherSession, type DispatcherSessionOptions } from "./session/dispatcher-session.js";
import type { ManagerAddress } from "./session/manager-list.js";
import { Worker } from "./worker.js";

export interface AgentOptions {
  /** The agent's records live here (the daemon's data dir). */
  dataDir: string;
  nodeId: string;
  engine: Engine;
  /** Dispatchers to dial; none = run from the records only (no manager yet). */
  managers?: ManagerAddress[];
  /** mTLS to the managers (`createClientCredentials` + `tlsChannelOptions` of @shoal/pki). */
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  description?: NodeDescriptionOptions;
  clock?: Clock;
  random?: Random;
  logger: Logger;
  maxTransientAttempts?: number;
  /** Every session message of the dispatcher session (the node object with its role, the managers). */
  onSessionMessage?: DispatcherSessionOptions["onSessionMessage"];
}

/**
 * The node agent (DESIGN.md §5) composed: records → worker (task controllers on the engine) →
 * status reporter → dispatcher session. `open` reads the records; `run` re-adopts every recorded
 * task at once and then talks to the managers; `close` after `run` has returned.
 */
export class Agent {
  readonly records: AgentRecords;
  readonly reporter: StatusReporter;
  readonly worker: Worker;
  readonly session: DispatcherSession | undefined;

  private constructor(records: AgentRecords, o: AgentOptions) {
    const clock = o.clock ?? systemClock;
    const random = o.random ?? systemRandom();
    const logger = o.logger.child({ nodeId: o.nodeId });
    const description = describeNode(o.description);
    this.records = records;
    this.reporter = new StatusReporter({ records, clock, random, logger });
    this.worker = new Worker({
      records,
      reporter: this.reporter,
      engine: o.engine,
      node: {
        id: o.nodeId,
        hostname: description.hostname,
        platform: description.platform ?? { os: "linux", architecture: "" },
      },
      clock,
      random: random.split(),
      logger,
      ...(o.maxTransientAttempts === undefined ? {} : { maxTransientAttempts: o.maxTransientAttempts }),
    });
    this.session =
      o.managers === undefined || o.managers.length === 0 || o.credentials === undefined
        ? undefined
        : new DispatcherSession({
            managers: o.managers,
            credentials: o.credentials,
            ...(o.channelOptions === undefined ? {} : { channelOptions: o.channelOptions }),
            describe: () => description,
            assignments: this.worker,
            onNode: (node) => {
              if (node.containerSubnet !== "") void o.engine.setContainerSubnet?.(node.containerSubnet);
            },
            reporter: this.reporter,
            clock,
            random: random.split(),
            logger,
            ...(o.onSessionMessage === undefined ? {} : { onSessionMessage: o.onSessionMessage }),
          });
  }

  static async open(o: AgentOptions): Promise<Agent> {
    return new Agent(await AgentRecords.open({ dir: o.dataDir }), o);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.worker.run(signal), this.reporter.run(signal), this.session?.run(signal)]);
  }

  /** Writes the records still queued and closes them. */
  async close(): Promise<void> {
    await this.records.close();
  }
}
