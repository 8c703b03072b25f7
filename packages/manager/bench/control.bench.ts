// control_create_service_p50_ms: CreateService through a real one-member manager — the built
// manager-main in its own process (Raft with fsync, the cluster port with mTLS) — from one
// client on loopback, sequentially, SHOAL_BENCH_CREATES times (default 300).
// manager_rss_mib_idle: that manager process's resident set after the creates and 10 s idle,
// from /proc (the client is not in it). Also measured with V8's young generation capped
// (`--max-semi-space-size=1`), reported as manager_rss_mib_idle_small_semi_space.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, reportFigure } from "@shoal/base";
import type { ControlClient } from "@shoal/proto";
import {
  call,
  control,
  freePort,
  kill,
  rssMib,
  serviceSpec,
  startManager,
  until,
} from "./manager-processes.js";

const CREATES = Number(process.env.SHOAL_BENCH_CREATES ?? 300);
const IDLE_MS = 10_000;
// Extra node flags for the manager, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const EXTRA_FLAGS = (process.env.SHOAL_BENCH_MANAGER_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "");

async function measure(nodeFlags: readonly string[], creates: number) {
  const dataDir = await mkdtemp(join(tmpdir(), "shoal-bench-manager-"));
  const m = await startManager(dataDir, `127.0.0.1:${await freePort()}`, { init: true }, [
    ...nodeFlags,
    ...EXTRA_FLAGS,
  ]);
  let client: ControlClient | undefined;
  try {
    client = await control(m.address, dataDir, m.clusterId);
    const c = client;
    await until("the cluster", () => call(c, "getJoinTokens", {}));
    await call(c, "createService", { spec: serviceSpec("warm-up") });
    // A read on the same path (TLS, authorization, handler), without Raft: the round trip part.
    const reads: number[] = [];
    for (let i = 0; i < creates; i++) {
      const t0 = performance.now();
      await call(c, "getJoinTokens", {});
      reads.push(performance.now() - t0);
    }
    const samples: number[] = [];
    for (let i = 0; i < creates; i++) {
      const t0 = performance.now();
      await call(c, "createService", { spec: serviceSpec(`svc-${i}`) });
      samples.push(performance.now() - t0);
    }
    client.close();
    client = undefined;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { samples, reads, rss: rssMib(m.child.pid as number) };
  } finally {
    client?.close();
    await kill(m, "SIGTERM");
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const { samples, reads, rss } = await measure([], CREATES);
  reportFigure("control_read_p50_ms", percentile(reads, 50), "ms");
  reportFigure("control_create_service_p50_ms", percentile(samples, 50), "ms");
  reportFigure("control_create_service_p99_ms", percentile(samples, 99), "ms");
  reportFigure("manager_rss_mib_idle", rss, "MiB");
  const small = await measure(["--max-semi-space-size=1"], 50);
  reportFigure("manager_rss_mib_idle_small_semi_space", small.rss, "MiB");
}
