// Parent side of the multi-process benchmarks: spawns members (bench/member.ts) as separate Node
// processes, wires their gRPC addresses together, and talks to them over IPC.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_ELECTION_TICKS,
  DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
  DEFAULT_SNAPSHOT_ENTRIES,
  DEFAULT_TICK_MS,
} from "../src/node/options.js";
import type { FromMember, MemberConfig, ToMember } from "./member.js";

const memberScript = join(dirname(fileURLToPath(import.meta.url)), "member.ts");

export interface ClusterOptions {
  size?: number;
  tickMs?: number;
  electionTicks?: number;
  snapshotEntries?: number;
  snapshotCatchUpEntries?: number;
  snapshotBytes?: number;
}

export class Member {
  readonly listeners = new Set<(m: FromMember) => void>();
  port = 0;
  exited = false;
  constructor(
    readonly id: number,
    readonly proc: ChildProcess,
  ) {
    proc.on("message", (m: FromMember) => {
      for (const l of [...this.listeners]) l(m);
    });
    proc.on("exit", () => {
      this.exited = true;
    });
  }

  send(m: ToMember): void {
    this.proc.send(m);
  }

  next<T extends FromMember["type"]>(type: T, timeoutMs = 30_000): Promise<Extract<FromMember, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`member ${this.id}: no "${type}" within ${timeoutMs}ms`));
      }, timeoutMs);
      const l = (m: FromMember) => {
        if (m.type === "failed") {
          clearTimeout(timer);
          this.listeners.delete(l);
          reject(new Error(`member ${this.id} failed: ${m.error}`));
        } else if (m.type === type) {
          clearTimeout(timer);
          this.listeners.delete(l);
          resolve(m as Extract<FromMember, { type: T }>);
        }
      };
      this.listeners.add(l);
    });
  }

  /** Election events, save latencies and the worst event-loop delay since the last call. */
  async trace(): Promise<Extract<FromMember, { type: "trace" }>> {
    const p = this.next("trace", 10_000);
    this.send({ cmd: "trace" });
    return p;
  }

  async status(): Promise<Extract<FromMember, { type: "status" }>> {
    const p = this.next("status", 10_000);
    this.send({ cmd: "status" });
    return p;
  }
}

export class BenchCluster {
  readonly members = new Map<number, Member>();
  root = "";
  readonly ids: number[];

  constructor(private readonly opts: ClusterOptions = {}) {
    this.ids = Array.from({ length: opts.size ?? 3 }, (_, i) => i + 1);
  }

  async start(only: number[] = this.ids): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), "shoal-raftbench-"));
    await Promise.all(only.map((id) => this.spawn(id)));
    this.broadcastPeers();
  }

  async spawn(id: number): Promise<Member> {
    const config: MemberConfig = {
      id,
      voters: this.ids,
      dir: join(this.root, `n${id}`),
      // The benchmarks measure RaftNode's defaults unless a bench asks otherwise.
      tickMs: this.opts.tickMs ?? DEFAULT_TICK_MS,
      electionTicks: this.opts.electionTicks ?? DEFAULT_ELECTION_TICKS,
      snapshotEntries: this.opts.snapshotEntries ?? DEFAULT_SNAPSHOT_ENTRIES,
      snapshotCatchUpEntries: this.opts.snapshotCatchUpEntries ?? DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
      snapshotBytes: this.opts.snapshotBytes ?? 0,
      debug: process.env.SHOAL_BENCH_DEBUG === "1",
      trace: process.env.SHOAL_BENCH_TRACE === "1",
    };
    const proc = fork(memberScript, [JSON.stringify(config)], {
      execArgv: ["--conditions=shoal-source", "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const m = new Member(id, proc);
    this.members.set(id, m);
    m.port = (await m.next("listening")).port;
    return m;
  }

  broadcastPeers(): void {
    const peers: Record<number, string> = {};
    for (const [id, m] of this.members) peers[id] = `127.0.0.1:${m.port}`;
    for (const m of this.members.values()) if (!m.exited) m.send({ cmd: "peers", peers });
  }

  /** kill -9: the process gets no chance to flush or say goodbye. */
  kill(id: number): void {
    const m = this.members.get(id)!;
    m.proc.kill("SIGKILL");
    this.members.delete(id);
  }

  async leader(timeoutMs = 15_000): Promise<Member> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const m of this.members.values()) {
        if (m.exited) continue;
        const s = await m.status();
        if (s.isLeader) return m;
      }
      if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs}ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.members.values()].map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.exited) return resolve();
            const t = setTimeout(() => {
              m.proc.kill("SIGKILL");
              resolve();
            }, 3000);
            m.proc.once("exit", () => {
              clearTimeout(t);
              resolve();
            });
            m.send({ cmd: "stop" });
          }),
      ),
    );
    this.members.clear();
    if (this.root !== "") await rm(this.root, { recursive: true, force: true });
  }
}
