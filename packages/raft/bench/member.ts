// One Raft member in its own process, driven by the parent benchmark over IPC (see cluster.ts).
// Real WAL with fsync, real gRPC transport on loopback, RaftNode with the default core.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { credentials, ServerCredentials } from "@grpc/grpc-js";
import { createLogger, type Logger, silentLogger } from "@shoal/base";
import { RaftNode } from "../src/node/raft-node.js";
import { GrpcTransport } from "../src/transport/grpc-transport.js";
import type { Entry } from "../src/types.js";
import { WalStorage } from "../src/wal/wal-storage.js";

export interface MemberConfig {
  id: number;
  voters: number[];
  dir: string;
  tickMs: number;
  electionTicks: number;
  snapshotEntries: number;
  snapshotCatchUpEntries: number;
  /** Bytes the state machine's snapshot weighs (padding), to bench snapshot installs. */
  snapshotBytes: number;
  debug?: boolean;
  /** Record election events, fsync latencies and event-loop stalls for the `trace` command. */
  trace?: boolean;
}

/** One election-related event of a member, wall-clock stamped (the members share the machine). */
export interface TraceEvent {
  at: number;
  msg: string;
  fields: Record<string, unknown>;
}

export type ToMember =
  | { cmd: "peers"; peers: Record<number, string> }
  | { cmd: "load"; concurrency: number; valueBytes: number; durationMs: number; warmupMs: number }
  | { cmd: "loadForever"; concurrency: number; valueBytes: number }
  | { cmd: "proposeN"; n: number; concurrency: number; valueBytes: number }
  | { cmd: "status" }
  | { cmd: "trace" }
  | { cmd: "stop" };

export type FromMember =
  | { type: "listening"; port: number }
  | { type: "loadResult"; commits: number; elapsedMs: number; latenciesMs: number[]; errors: number }
  | { type: "firstCommit"; term: number; at: number }
  | {
      type: "status";
      leader: number;
      term: number;
      applied: number;
      isLeader: boolean;
      maxSentBytes: number;
      maxReceivedBytes: number;
      restores: number;
      restoredAt: number;
    }
  | {
      type: "trace";
      events: TraceEvent[];
      /** storage.save() latencies (ms) since the last trace, and the event loop's worst delay. */
      saveMs: number[];
      loopMaxMs: number;
    }
  | { type: "failed"; error: string };

const config = JSON.parse(process.argv[2]!) as MemberConfig;
const send = (m: FromMember) => process.send?.(m);
const TRACED = new Set([
  "raft node role changed",
  "raft vote decision",
  "raft vote counted",
  "raft ignoring vote request: leader lease not expired",
  "raft became leader",
  "raft node started",
  "raft leader lost contact with a quorum, stepping down",
]);
let traceEvents: TraceEvent[] = [];
let saveMs: number[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
function traceLogger(): Logger {
  loopDelay.enable();
  return createLogger({
    level: "debug",
    destination: {
      write(line: string) {
        const { msg, time: _t, level: _l, pid: _p, hostname: _h, ...fields } = JSON.parse(line);
        if (TRACED.has(msg)) traceEvents.push({ at: Date.now(), msg, fields });
      },
    },
  });
}
const logger = config.trace ? traceLogger() : config.debug ? createLogger({ level: "info" }) : silentLogger();

let restores = 0;
let restoredAt = 0;
const pad = new Uint8Array(config.snapshotBytes).fill(7);
const apply = (_e: Entry) => {};

const storage = await WalStorage.open({
  dir: config.dir,
  bootstrapVoters: config.voters,
  logger,
});
if (config.trace) {
  const save = storage.save.bind(storage);
  storage.save = async (...args: Parameters<typeof save>) => {
    const t0 = performance.now();
    await save(...args);
    saveMs.push(performance.now() - t0);
  };
}
const transport = await GrpcTransport.open({
  id: config.id,
  credentials: credentials.createInsecure(),
  listen: { address: "127.0.0.1:0", credentials: ServerCredentials.createInsecure() },
  logger,
});
const node = new RaftNode({
  id: config.id,
  storage,
  transport,
  apply,
  snapshot: () => pad,
  restore: (data) => {
    restores++;
    restoredAt = Date.now();
    if (data.byteLength !== config.snapshotBytes && config.snapshotBytes > 0)
      throw new Error(`snapshot of ${data.byteLength} bytes`);
  },
  tickMs: config.tickMs,
  electionTicks: config.electionTicks,
  snapshotEntries: config.snapshotEntries,
  snapshotCatchUpEntries: config.snapshotCatchUpEntries,
  logger,
  coreConfig: { maxInflightMsgs: 512 },
});
const running = node.run();
running.catch((err: unknown) => {
  send({ type: "failed", error: String(err) });
  process.exit(1);
});
// GrpcTransport.open() resolved once the server was bound.
send({ type: "listening", port: transport.port });

function value(bytes: number): Uint8Array {
  const v = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) v[i] = (Math.random() * 256) | 0;
  return v;
}

async function load(
  concurrency: number,
  valueBytes: number,
  durationMs: number,
  warmupMs: number,
): Promise<void> {
  const start = Date.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  const latencies: number[] = [];
  let commits = 0;
  let errors = 0;
  const worker = async () => {
    const data = value(valueBytes);
    while (Date.now() < end) {
      const t0 = performance.now();
      try {
        await node.propose(data);
        const t1 = performance.now();
        if (Date.now() >= measureFrom && Date.now() < end) {
          commits++;
          latencies.push(t1 - t0);
        }
      } catch {
        errors++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  send({ type: "loadResult", commits, elapsedMs: durationMs, latenciesMs: latencies, errors });
}

async function proposeN(n: number, concurrency: number, valueBytes: number): Promise<void> {
  const t0 = Date.now();
  let left = n;
  let commits = 0;
  let errors = 0;
  const worker = async () => {
    const data = value(valueBytes);
    while (left > 0) {
      left--;
      try {
        await node.propose(data);
        commits++;
      } catch {
        errors++;
        left++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  send({ type: "loadResult", commits, elapsedMs: Date.now() - t0, latenciesMs: [], errors });
}

/** Proposes whenever this member leads; reports the first commit of each leadership term. */
function loadForever(concurrency: number, valueBytes: number): void {
  let reportedTerm = 0;
  const worker = async () => {
    const data = value(valueBytes);
    for (;;) {
      if (!node.isLeader()) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      const term = node.term;
      try {
        await node.propose(data);
        if (term > reportedTerm && node.term === term) {
          reportedTerm = term;
          send({ type: "firstCommit", term, at: Date.now() });
        }
      } catch {
        await new Promise((r) => setTimeout(r, 2));
      }
    }
  };
  for (let i = 0; i < concurrency; i++) void worker();
}

process.on("message", (msg: ToMember) => {
  switch (msg.cmd) {
    case "peers":
      for (const [id, addr] of Object.entries(msg.peers))
        if (Number(id) !== config.id) transport.setPeer(Number(id), addr);
      break;
    case "load":
      void load(msg.concurrency, msg.valueBytes, msg.durationMs, msg.warmupMs);
      break;
    case "proposeN":
      void proposeN(msg.n, msg.concurrency, msg.valueBytes);
      break;
    case "loadForever":
      loadForever(msg.concurrency, msg.valueBytes);
      break;
    case "status":
      send({
        type: "status",
        leader: node.leader,
        term: node.term,
        applied: node.applied,
        isLeader: node.isLeader(),
        maxSentBytes: transport.stats.maxSentBytes,
        maxReceivedBytes: transport.stats.maxReceivedBytes,
        restores,
        restoredAt,
      });
      break;
    case "trace":
      send({ type: "trace", events: traceEvents, saveMs, loopMaxMs: loopDelay.max / 1e6 });
      traceEvents = [];
      saveMs = [];
      loopDelay.reset();
      break;
    case "stop":
      void node.stop().then(async () => {
        await transport.close();
        await storage.close();
        process.exit(0);
      });
      break;
  }
});
