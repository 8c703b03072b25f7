// One store member in its own process, driven by replicated.bench.ts over IPC: ReplicatedStore
// over a real WAL with fsync and the raft gRPC transport on loopback.
import { credentials, ServerCredentials } from "@grpc/grpc-js";
import { silentLogger } from "@shoal/base";
import { Node } from "@shoal/proto";
import { GrpcTransport } from "@shoal/raft/transport";
import { ReplicatedStore } from "../src/replicated-store.js";

export interface MemberConfig {
  id: number;
  voters: number[];
  dir: string;
}

export type ToMember =
  | { cmd: "peers"; peers: Record<number, string> }
  | { cmd: "seed"; objects: number }
  | { cmd: "load"; concurrency: number; durationMs: number; warmupMs: number }
  | { cmd: "status" };

export type FromMember =
  | { type: "listening"; port: number }
  | { type: "seeded" }
  | {
      type: "loadResult";
      commits: number;
      latenciesMs: number[];
      errors: number;
      durationMs: number;
      /** This process's CPU time and the raft entries applied during the measured window. */
      cpuMs: number;
      entries: number;
    }
  | { type: "status"; isLeader: boolean; applied: number }
  | { type: "failed"; error: string };

const config = JSON.parse(process.argv[2]!) as MemberConfig;
const send = (m: FromMember) => process.send?.(m);
const logger = silentLogger();

const transport = await GrpcTransport.open({
  id: config.id,
  credentials: credentials.createInsecure(),
  listen: { address: "127.0.0.1:0", credentials: ServerCredentials.createInsecure() },
  logger,
});
const store = await ReplicatedStore.open({
  id: config.id,
  dir: config.dir,
  bootstrapVoters: config.voters,
  transport,
  logger,
  raft: { coreConfig: { maxInflightMsgs: 512 } },
});
store.run().catch((err: unknown) => {
  send({ type: "failed", error: String(err) });
  process.exit(1);
});
send({ type: "listening", port: transport.port });

async function seed(objects: number): Promise<void> {
  await store.batch((b) => {
    for (let i = 0; i < objects; i++)
      b.update((tx) =>
        tx.nodes.create(
          Node.fromPartial({ id: `bench-${i}`, spec: { name: `bench-${i}`, labels: { n: "0" } } }),
        ),
      );
  });
  send({ type: "seeded" });
}

/** Each writer updates its own object in a loop (no conflicts): a read-modify-write transaction. */
async function load(concurrency: number, durationMs: number, warmupMs: number): Promise<void> {
  const start = Date.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  const latenciesMs: number[] = [];
  let commits = 0;
  let errors = 0;
  let cpu0 = process.cpuUsage();
  let applied0 = store.applied;
  const from = setTimeout(() => {
    cpu0 = process.cpuUsage();
    applied0 = store.applied;
  }, warmupMs);
  const writer = async (w: number) => {
    const id = `bench-${w}`;
    while (Date.now() < end) {
      const t0 = performance.now();
      try {
        await store.update((tx) => {
          const o = tx.nodes.get(id)!;
          tx.nodes.update({
            ...o,
            spec: { ...o.spec!, labels: { n: String(Number(o.spec!.labels.n) + 1) } },
          });
        });
        const now = Date.now();
        if (now >= measureFrom && now < end) {
          commits++;
          latenciesMs.push(performance.now() - t0);
        }
      } catch {
        errors++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => writer(w)));
  clearTimeout(from);
  const c = process.cpuUsage(cpu0);
  const cpuMs = (c.user + c.system) / 1000;
  const entries = store.applied - applied0;
  send({ type: "loadResult", commits, latenciesMs, errors, durationMs, cpuMs, entries });
}

process.on("message", (msg: ToMember) => {
  switch (msg.cmd) {
    case "peers":
      for (const [id, addr] of Object.entries(msg.peers))
        if (Number(id) !== config.id) transport.setPeer(Number(id), addr);
      break;
    case "seed":
      void seed(msg.objects);
      break;
    case "load":
      void load(msg.concurrency, msg.durationMs, msg.warmupMs);
      break;
    case "status":
      send({ type: "status", isLeader: store.isLeader(), applied: store.raft.applied });
      break;
  }
});
process.on("disconnect", () => process.exit(0));
