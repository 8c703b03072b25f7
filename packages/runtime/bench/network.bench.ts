// Node networking figures: what one container's attach costs (netns + veth + IPAM + routes), and
// the same with a host-mode published port (plus the DNAT rules rewrite).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, reportFigure, silentLogger } from "@shoal/base";
import { createRunner, NodeNetwork } from "../src/index.js";

const ROUNDS = 40;

export async function run(): Promise<void> {
  const nodeNetns = `shoal-bench-net-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "shoal-bench-net-"));
  execFileSync("ip", ["netns", "add", nodeNetns]);
  try {
    const net = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.250.0/24",
      netnsPrefix: `sbn${process.pid}-`,
      runner: createRunner(`/run/netns/${nodeNetns}`),
      logger: silentLogger(),
    });
    const attach: number[] = [];
    const publish: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now();
      await net.attach({ containerId: `a${i}` });
      attach.push(performance.now() - t);
      t = performance.now();
      await net.attach({ containerId: `p${i}`, ports: [{ targetPort: 80 }] });
      publish.push(performance.now() - t);
    }
    await net.destroy();
    reportFigure("net_attach_p50_ms", percentile(attach, 50), "ms");
    reportFigure("net_attach_p99_ms", percentile(attach, 99), "ms");
    reportFigure("net_publish_p50_ms", percentile(publish, 50), "ms");
  } finally {
    execFileSync("ip", ["netns", "del", nodeNetns]);
    rmSync(dir, { recursive: true, force: true });
  }
}
