// Overlay figures on three testkit hosts: round trip and throughput between two tasks on different
// nodes over VXLAN, each against the same measurement between the nodes' own addresses (ratio);
// connecting to a VIP; a lookup at the embedded resolver; connecting to an ingress port on a node
// without a replica. Probes are small node programs run inside the namespaces, so the process
// start is not measured; each reports its own samples.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { percentile, reportFigure, silentLogger } from "@shoal/base";
import { createHosts, type TestHost, tempDir, waitFor } from "@shoal/testkit";
import { createRunner, type OverlayDesired, OverlayNetworks } from "../src/index.js";

const ROUNDS = 200;
const CONNECTS = 60;
const BYTES = 128 * 1024 * 1024;
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const dnsMain = fileURLToPath(new URL("../src/network/dns-main.ts", import.meta.url));

/** Servers: UDP echo on 7, TCP sink on 9 (reports nothing), TCP accept on 80. */
const SERVERS = `
const dgram = require("node:dgram"), net = require("node:net");
const u = dgram.createSocket("udp4"); u.on("message", (m, r) => u.send(m, r.port, r.address)); u.bind(7);
net.createServer((s) => s.on("data", () => {}).on("error", () => {})).listen(9);
net.createServer((s) => s.end()).listen(80, () => console.log("listening"));
`;

/** Probes, printing their samples as JSON. */
const PROBE = `
const [mode, host, n] = process.argv.slice(1);
const now = () => Number(process.hrtime.bigint()) / 1e3;
(async () => {
  const out = [];
  if (mode === "rtt") {
    const s = require("node:dgram").createSocket("udp4");
    await new Promise((r) => s.bind(0, r));
    for (let i = 0; i < Number(n); i++) {
      const t = now();
      await new Promise((r) => { s.once("message", r); s.send(Buffer.alloc(64), 7, host); });
      out.push(now() - t);
    }
    s.close();
  } else if (mode === "throughput") {
    const chunk = Buffer.alloc(1 << 20);
    const t = now();
    await new Promise((resolve, reject) => {
      const c = require("node:net").connect(9, host, () => {
        let left = Number(n);
        const write = () => { while (left > 0) { left -= chunk.length; if (!c.write(chunk)) return c.once("drain", write); } c.end(); };
        write();
      });
      c.on("close", resolve); c.on("error", reject);
    });
    out.push((Number(n) * 8) / (now() - t));
  } else if (mode === "connect") {
    for (let i = 0; i < Number(n); i++) {
      const t = now();
      await new Promise((resolve, reject) => { const c = require("node:net").connect(80, host, () => { out.push((now() - t) / 1e3); c.destroy(); resolve(); }); c.on("error", reject); });
    }
  } else if (mode === "dns") {
    const { Resolver } = require("node:dns").promises;
    const r = new Resolver({ timeout: 2000, tries: 1 }); r.setServers([host]);
    for (let i = 0; i < Number(n); i++) { const t = now(); await r.resolve4("api"); out.push(now() - t); }
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e)); process.exit(1); });
`;

function runIn(netnsPath: string, script: string, args: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("nsenter", [`--net=${netnsPath}`, "--", process.execPath, "-e", script, ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("close", (code) =>
      code === 0
        ? resolve(JSON.parse(out) as number[])
        : reject(new Error(`probe ${args[0]} exited ${code}`)),
    );
  });
}

function startServers(netnsPath: string, processes: ChildProcess[]): Promise<void> {
  const p = spawn("nsenter", [`--net=${netnsPath}`, "--", process.execPath, "-e", SERVERS], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  processes.push(p);
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  return waitFor(() => out.includes("listening"), { description: "bench servers", timeoutMs: 30_000 }).then(
    () => {},
  );
}

export async function run(): Promise<void> {
  const hosts = await createHosts(3);
  const dir = await tempDir("shoal-bench-overlay-");
  const processes: ChildProcess[] = [];
  const namespaces = [`sob${process.pid}-c`, `sob${process.pid}-s`];
  const overlays: OverlayNetworks[] = [];
  try {
    const [h1, h2, h3] = hosts.all as [TestHost, TestHost, TestHost];
    for (const n of namespaces) {
      await new Promise<void>((resolve, reject) =>
        spawn("ip", ["netns", "add", n]).on("close", (c) =>
          c === 0 ? resolve() : reject(new Error(`ip netns add ${n}`)),
        ),
      );
    }
    const [client, server] = namespaces.map((n) => `/run/netns/${n}`) as [string, string];
    const desired = (h: TestHost): OverlayDesired => ({
      networks: [
        {
          id: "ing",
          name: "ingress",
          vni: 4300,
          subnet: "10.64.1.0/24",
          gateway: "10.64.1.1",
          ingress: true,
          peers: [h1, h2, h3].map((x) => ({
            nodeAddr: x.address,
            nodeIp: `10.64.1.${1 + x.index}`,
            endpoints: x === h2 ? [{ ip: "10.64.1.20" }] : [],
          })),
        },
        {
          id: "app",
          name: "app",
          vni: 4301,
          subnet: "10.64.0.0/24",
          gateway: "10.64.0.1",
          peers: [h1, h2, h3].map((x) => ({
            nodeAddr: x.address,
            endpoints: x === h1 ? [{ ip: "10.64.0.10" }] : x === h2 ? [{ ip: "10.64.0.20" }] : [],
          })),
        },
      ],
      endpoints: [
        ...(h === h1
          ? [
              {
                containerId: "c",
                netns: namespaces[0] as string,
                attachments: [{ networkId: "app", ip: "10.64.0.10" }],
              },
            ]
          : []),
        ...(h === h2
          ? [
              {
                containerId: "s",
                netns: namespaces[1] as string,
                attachments: [
                  { networkId: "app", ip: "10.64.0.20" },
                  { networkId: "ing", ip: "10.64.1.20" },
                ],
              },
            ]
          : []),
      ],
      services: [
        {
          id: "api",
          name: "api",
          vips: [{ networkId: "app", ip: "10.64.0.100" }],
          ingressPorts: [{ targetPort: 80, publishedPort: 8080 }],
          tasks: [
            {
              nodeAddr: h2.address,
              addresses: [
                { networkId: "app", ip: "10.64.0.20" },
                { networkId: "ing", ip: "10.64.1.20" },
              ],
            },
          ],
        },
      ],
    });
    for (const h of [h1, h2, h3]) {
      const o = new OverlayNetworks({
        localAddr: h.address,
        runner: createRunner(h.netnsPath),
        logger: silentLogger(),
      });
      overlays.push(o);
      await o.apply(desired(h));
    }
    const file = join(dir.path, "desired.json");
    writeFileSync(file, JSON.stringify(desired(h1)));
    const dns = spawn(
      "nsenter",
      [
        `--net=${h1.netnsPath}`,
        "--",
        process.execPath,
        "--conditions=shoal-source",
        "--import",
        "tsx",
        dnsMain,
        "--desired",
        file,
      ],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
    );
    processes.push(dns);
    let dnsOut = "";
    dns.stdout.on("data", (d) => (dnsOut += d));
    await waitFor(() => dnsOut.includes("ready 1"), { description: "resolver", timeoutMs: 30_000 });
    await startServers(server, processes);
    await startServers(h2.netnsPath, processes);

    const hostRtt = percentile(await runIn(h1.netnsPath, PROBE, ["rtt", h2.address, String(ROUNDS)]), 50);
    const overlayRtt = percentile(await runIn(client, PROBE, ["rtt", "10.64.0.20", String(ROUNDS)]), 50);
    reportFigure("overlay_rtt_us", overlayRtt, "us");
    reportFigure("overlay_rtt_ratio_to_host", overlayRtt / hostRtt, "x");
    // Best of three, alternating, so a burst of load on the shared machine hits both sides alike.
    let hostTput = 0;
    let overlayTput = 0;
    for (let i = 0; i < 3; i++) {
      const h = (await runIn(h1.netnsPath, PROBE, ["throughput", h2.address, String(BYTES)]))[0] as number;
      const o = (await runIn(client, PROBE, ["throughput", "10.64.0.20", String(BYTES)]))[0] as number;
      hostTput = Math.max(hostTput, h);
      overlayTput = Math.max(overlayTput, o);
    }
    reportFigure("overlay_throughput_mbit_s", overlayTput, "Mbit/s");
    reportFigure("overlay_throughput_ratio_to_host", overlayTput / hostTput, "x");
    reportFigure(
      "vip_connect_p50_ms",
      percentile(await runIn(client, PROBE, ["connect", "10.64.0.100", String(CONNECTS)]), 50),
      "ms",
    );
    reportFigure(
      "dns_lookup_p50_us",
      percentile(await runIn(client, PROBE, ["dns", "10.64.0.1", String(ROUNDS)]), 50),
      "us",
    );
    // From the harness gateway (a client outside the cluster) to h1, which has no replica.
    const ingress: number[] = [];
    for (let i = 0; i < CONNECTS; i++) {
      const t = performance.now();
      await new Promise<void>((resolve, reject) => {
        const c = connect(8080, h1.address, () => {
          ingress.push(performance.now() - t);
          c.destroy();
          resolve();
        });
        c.on("error", reject);
      });
    }
    reportFigure("ingress_connect_p50_ms", percentile(ingress, 50), "ms");
  } finally {
    for (const p of processes) p.kill("SIGKILL");
    for (const o of overlays) await o.destroy().catch(() => {});
    for (const n of namespaces) await new Promise((r) => spawn("ip", ["netns", "del", n]).on("close", r));
    await hosts.destroy();
    await dir.remove();
  }
}
