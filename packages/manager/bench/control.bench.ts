// control_create_service_p50_ms: CreateService through a real one-member manager (Raft with
// fsync, the cluster port with mTLS) from one client on loopback, sequentially.
// manager_rss_mib_idle: the resident set of this process with that manager running idle (an
// upper bound: the bench's client shares the process).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, reportFigure, silentLogger } from "@shoal/base";
import { createClientCredentials, tlsChannelOptions } from "@shoal/pki";
import { ControlClient, type CreateServiceResponse, ServiceSpec } from "@shoal/proto";
import { Manager } from "../src/manager.js";
import { readTls } from "../src/node-files.js";

const CREATES = Number(process.env.SHOAL_BENCH_CREATES ?? 300);

export async function run(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "shoal-bench-manager-"));
  const manager = await Manager.init({
    dataDir,
    listenAddress: "127.0.0.1:0",
    advertiseAddress: "127.0.0.1:4270",
    logger: silentLogger(),
  });
  const stop = new AbortController();
  const running = manager.run(stop.signal);
  try {
    while (manager.store.view((tx) => tx.clusters.count()) === 0) await new Promise((r) => setTimeout(r, 10));
    const tls = await readTls(dataDir);
    const client = new ControlClient(
      `127.0.0.1:${manager.port}`,
      createClientCredentials(tls, { clusterId: manager.identity.clusterId }),
      tlsChannelOptions(),
    );
    const create = (i: number) =>
      new Promise<CreateServiceResponse>((resolve, reject) =>
        client.createService(
          {
            spec: ServiceSpec.fromPartial({
              name: `svc-${i}`,
              taskTemplate: { container: { image: "nginx:1.27" } },
            }),
          },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
    await create(-1); // warm-up: the TLS handshake
    const samples: number[] = [];
    for (let i = 0; i < CREATES; i++) {
      const t0 = performance.now();
      await create(i);
      samples.push(performance.now() - t0);
    }
    reportFigure("control_create_service_p50_ms", percentile(samples, 50), "ms");
    reportFigure("control_create_service_p99_ms", percentile(samples, 99), "ms");
    client.close();
    await new Promise((r) => setTimeout(r, 2_000));
    globalThis.gc?.();
    reportFigure("manager_rss_mib_idle", process.memoryUsage().rss / 2 ** 20, "MiB");
  } finally {
    stop.abort();
    await running;
    await manager.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
