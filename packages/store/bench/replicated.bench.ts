// 3 store members as separate processes over the raft gRPC transport on loopback, WAL with fsync:
// one writer's update latency and 256 concurrent writers' throughput, writers in the leader.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentile, reportFigure } from "@shoal/base";
import type { FromMember, MemberConfig, ToMember } from "./member.js";

const memberScript = join(dirname(fileURLToPath(import.meta.url)), "member.ts");
const WRITERS = 256;
const DURATION_MS = Number(process.env.SHOAL_BENCH_DURATION_MS ?? 8000);

class Member {
  private readonly listeners = new Set<(m: FromMember) => void>();
  constructor(readonly proc: ChildProcess) {
    proc.on("message", (m: FromMember) => {
      for (const l of [...this.listeners]) l(m);
    });
  }
  send(m: ToMember): void {
    this.proc.send(m);
  }
  next<T extends FromMember["type"]>(
    type: T,
    timeoutMs = 120_000,
  ): Promise<Extract<FromMember, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`bench member: no "${type}" within ${timeoutMs}ms`)),
        timeoutMs,
      );
      const l = (m: FromMember) => {
        if (m.type !== type && m.type !== "failed") return;
        clearTimeout(timer);
        this.listeners.delete(l);
        if (m.type === "failed") reject(new Error(`bench member failed: ${m.error}`));
        else resolve(m as Extract<FromMember, { type: T }>);
      };
      this.listeners.add(l);
    });
  }
  async ask<T extends FromMember["type"]>(m: ToMember, type: T): Promise<Extract<FromMember, { type: T }>> {
    const p = this.next(type);
    this.send(m);
    return p;
  }
}

export async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "shoal-storebench-"));
  const ids = [1, 2, 3];
  const members = ids.map((id) => {
    const config: MemberConfig = { id, voters: ids, dir: join(root, `m${id}`) };
    return new Member(
      fork(memberScript, [JSON.stringify(config)], {
        execArgv: ["--conditions=shoal-source", "--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    );
  });
  try {
    const ports = await Promise.all(members.map((m) => m.next("listening").then((l) => l.port)));
    const peers = Object.fromEntries(ids.map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
    for (const m of members) m.send({ cmd: "peers", peers });
    let leader: Member | undefined;
    for (let i = 0; i < 300 && leader === undefined; i++) {
      for (const m of members) if ((await m.ask({ cmd: "status" }, "status")).isLeader) leader = m;
      if (leader === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    if (leader === undefined) throw new Error("no leader elected within 30 s");
    await leader.ask({ cmd: "seed", objects: WRITERS }, "seeded");

    const one = await leader.ask(
      { cmd: "load", concurrency: 1, durationMs: DURATION_MS, warmupMs: 1000 },
      "loadResult",
    );
    reportFigure("store_update_p50_ms", percentile(one.latenciesMs, 50), "ms");
    reportFigure("store_update_p99_ms_1writer", percentile(one.latenciesMs, 99), "ms");
    // CPU the leader process spends per update: the store's cost on top of raft's (whose own
    // `commits` bench gives the floor), and what wall time hides on a loaded machine.
    reportFigure("store_update_leader_cpu_ms_1writer", one.cpuMs / one.commits, "ms");
    const many = await leader.ask(
      { cmd: "load", concurrency: WRITERS, durationMs: DURATION_MS, warmupMs: 1000 },
      "loadResult",
    );
    reportFigure("store_updates_per_s", Math.round(many.commits / (many.durationMs / 1000)), "updates/s");
    reportFigure("store_update_p99_ms_256writers", percentile(many.latenciesMs, 99), "ms");
    reportFigure("store_update_leader_cpu_us_256writers", (many.cpuMs * 1000) / many.commits, "us");
    // Group commit: transactions per raft entry.
    reportFigure("store_updates_per_entry_256writers", many.commits / Math.max(1, many.entries), "updates");
  } finally {
    for (const m of members) m.proc.kill("SIGKILL");
    await rm(root, { recursive: true, force: true });
  }
}
