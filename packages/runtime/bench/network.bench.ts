// Node networking figures: what one container's attach costs (netns + veth + IPAM + routes), and
// the same with a host-mode published port (plus the port check and the DNAT rules rewrite).
//
// The node is a fresh network namespace so the machine's own networking is never touched. The
// measuring process itself runs inside it (nsenter --net), so commands run as they do on a real
// node, without the per-command nsenter a test host's runner adds.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentile, reportFigure, silentLogger } from "@shoal/base";
import { NodeNetwork } from "../src/index.js";

const ROUNDS = 40;

export async function run(): Promise<void> {
  const nodeNetns = `shoal-bench-net-${process.pid}`;
  execFileSync("ip", ["netns", "add", nodeNetns]);
  try {
    const child = spawnSync(
      "nsenter",
      [
        `--net=/run/netns/${nodeNetns}`,
        "--",
        process.execPath,
        "--conditions=shoal-source",
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
      ],
      { env: { ...process.env, SHOAL_BENCH_NET_CHILD: "1" }, stdio: "inherit" },
    );
    if (child.status !== 0)
      throw new Error(`network benchmark child failed (${child.status ?? child.signal})`);
  } finally {
    execFileSync("ip", ["netns", "del", nodeNetns]);
  }
}

async function measureInNode(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "shoal-bench-net-"));
  try {
    const net = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.250.0/24",
      netnsPrefix: `sbn${process.pid}-`,
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
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.SHOAL_BENCH_NET_CHILD === "1") await measureInNode();
