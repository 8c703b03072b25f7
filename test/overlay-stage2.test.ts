// Networking stage 2 across three testkit hosts: VXLAN overlays programmed from a desired state
// (no learning), VIPs balanced by iptables, the embedded resolver, and the ingress routing mesh
// keeping the client's address. "Tasks" are network namespaces running a small HTTP server that
// answers with its name and the peer address it sees.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@shoal/base";
import {
  createRunner,
  DnsResolver,
  type OverlayDesired,
  type OverlayNetworkSpec,
  OverlayNetworks,
  type OverlayService,
} from "@shoal/runtime";
import { createHosts, type TempDir, type TestHost, type TestHosts, tempDir, waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = join(here, "..");
const dnsMain = join(repoRoot, "packages/runtime/src/network/dns-main.ts");

interface Task {
  id: string;
  service: string;
  host: number;
  addresses: Record<string, string>;
  healthy?: boolean;
}

const NETS: OverlayNetworkSpec[] = [
  {
    id: "n-ingress",
    name: "ingress",
    vni: 4100,
    subnet: "10.61.0.0/24",
    gateway: "10.61.0.1",
    ingress: true,
    peers: [],
  },
  {
    id: "n-front",
    name: "app_front",
    vni: 4101,
    subnet: "10.61.1.0/24",
    gateway: "10.61.1.1",
    attachable: true,
    peers: [],
  },
  {
    id: "n-back",
    name: "app_back",
    vni: 4102,
    subnet: "10.61.2.0/24",
    gateway: "10.61.2.1",
    internal: true,
    peers: [],
  },
];

const SERVER = `
const http = require("node:http");
http.createServer((req, res) => res.end(process.env.TASK + " " + req.socket.remoteAddress)).listen(80, "0.0.0.0", () => console.log("listening"));
`;

/** Connects `count` times to ip:port (a new connection each), prints each answer on a line. */
const CLIENT = `
const http = require("node:http");
const [host, port, count] = process.argv.slice(1);
(async () => {
  for (let i = 0; i < Number(count); i++) {
    const body = await new Promise((resolve) => {
      const req = http.get({ host, port: Number(port), agent: false, timeout: 2000 }, (res) => {
        let b = ""; res.on("data", (d) => (b += d)); res.on("end", () => resolve(b));
      });
      req.on("timeout", () => { req.destroy(); resolve("timeout"); });
      req.on("error", (e) => resolve("error " + e.code));
    });
    console.log(body);
  }
})();
`;

const RESOLVE = `
const { Resolver } = require("node:dns").promises;
const [server, name] = process.argv.slice(1);
const r = new Resolver({ timeout: 3000, tries: 1 });
r.setServers([server]);
r.resolve4(name).then((ips) => console.log(ips.sort().join(",")), (e) => console.log("error " + e.code));
`;

describe("overlay networks, VIPs, resolver and routing mesh (stage 2)", () => {
  let hosts: TestHosts;
  let dir: TempDir;
  const overlays: OverlayNetworks[] = [];
  const processes: ChildProcess[] = [];
  const dns: { proc: ChildProcess; file: string; loads: number; out: string }[] = [];
  let upstream: DnsResolver;
  const prefix = `sov${process.pid}-`;
  const netns = (task: string) => `${prefix}${task}`;
  const netnsPaths: string[] = [];

  const tasks: Task[] = [
    { id: "w1", service: "web", host: 1, addresses: { "n-front": "10.61.1.10" } },
    { id: "a1", service: "api", host: 2, addresses: { "n-front": "10.61.1.20", "n-back": "10.61.2.20" } },
    { id: "a2", service: "api", host: 2, addresses: { "n-front": "10.61.1.21", "n-back": "10.61.2.21" } },
    { id: "a3", service: "api", host: 3, addresses: { "n-front": "10.61.1.22", "n-back": "10.61.2.22" } },
    { id: "d1", service: "db", host: 3, addresses: { "n-back": "10.61.2.30" } },
    { id: "p1", service: "pub", host: 3, addresses: { "n-ingress": "10.61.0.50" } },
  ];
  const services: Omit<OverlayService, "tasks">[] = [
    { id: "s-web", name: "web", stack: "app", vips: [{ networkId: "n-front", ip: "10.61.1.99" }] },
    {
      id: "s-api",
      name: "api",
      stack: "app",
      vips: [
        { networkId: "n-front", ip: "10.61.1.100" },
        { networkId: "n-back", ip: "10.61.2.100" },
      ],
    },
    { id: "s-db", name: "db", stack: "app", endpointMode: "dnsrr", vips: [] },
    { id: "s-pub", name: "pub", vips: [], ingressPorts: [{ targetPort: 80, publishedPort: 8080 }] },
  ];

  const host = (i: number) => hosts.get(i) as TestHost;

  function desiredFor(hostIndex: number, live: readonly Task[] = tasks, nodes = [1, 2, 3]): OverlayDesired {
    const networks = NETS.map((n) => ({
      ...n,
      peers: nodes.map((h) => ({
        nodeAddr: host(h).address,
        ...(n.ingress === true ? { nodeIp: `10.61.0.${1 + h}` } : {}),
        endpoints: live
          .filter((t) => t.host === h && t.addresses[n.id] !== undefined)
          .map((t) => ({ ip: t.addresses[n.id] as string })),
      })),
    }));
    return {
      networks,
      endpoints: live
        .filter((t) => t.host === hostIndex)
        .map((t) => ({
          containerId: t.id,
          netns: netns(t.id),
          attachments: Object.entries(t.addresses).map(([networkId, ip]) => ({ networkId, ip })),
        })),
      services: services.map((s) => ({
        ...s,
        tasks: live
          .filter((t) => t.service === s.name)
          .map((t) => ({
            id: t.id,
            nodeAddr: host(t.host).address,
            ...(t.healthy === false ? { healthy: false } : {}),
            addresses: Object.entries(t.addresses).map(([networkId, ip]) => ({ networkId, ip })),
          })),
      })),
    };
  }

  async function applyAll(live: readonly Task[] = tasks, nodes = [1, 2, 3]): Promise<void> {
    for (const [i, o] of overlays.entries())
      if (nodes.includes(i + 1)) await o.apply(desiredFor(i + 1, live, nodes));
    for (const [i, d] of dns.entries()) {
      if (!nodes.includes(i + 1)) continue;
      await writeFile(d.file, JSON.stringify(desiredFor(i + 1, live, nodes)));
      const want = d.loads + 1;
      d.proc.kill("SIGHUP");
      await waitFor(() => d.out.includes(`ready ${want}\n`), {
        description: `resolver on h${i + 1} to reload`,
      });
      d.loads = want;
    }
  }

  function run(args: string[], timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(args[0] as string, args.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("close", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`${args.join(" ")} exited ${code}: ${err}`));
      });
    });
  }
  /** Runs `node -e script args` inside a task's namespace (what the container sees). */
  const inTask = (task: string, script: string, ...args: string[]) =>
    run(["nsenter", `--net=/run/netns/${netns(task)}`, "--", process.execPath, "-e", script, ...args]);
  const get = async (task: string, ip: string, count: number, port = 80) =>
    (await inTask(task, CLIENT, ip, String(port), String(count))).trim().split("\n");
  const resolve = async (task: string, name: string) => {
    const t = tasks.find((x) => x.id === task) as Task;
    const net = NETS.find((n) => t.addresses[n.id] !== undefined) as OverlayNetworkSpec;
    return (await inTask(task, RESOLVE, net.gateway, name)).trim();
  };

  beforeAll(async () => {
    dir = await tempDir("shoal-overlay-e2e-");
    hosts = await createHosts(3);
    const gateway = hosts.gateway as string;
    upstream = new DnsResolver({ port: 5353, upstreams: [], logger: silentLogger() });
    // The node's own resolver, on the test process's side of the harness: knows one name.
    await upstream.update({
      listen: [gateway],
      clients: new Map([1, 2, 3].map((h) => [host(h).address, ["u"]])),
      names: new Map([["example.test", new Map([["u", ["192.0.2.7"]]])]]),
    });
    for (const t of tasks) {
      await run(["ip", "netns", "add", netns(t.id)]);
      netnsPaths.push(netns(t.id));
    }
    for (const h of [1, 2, 3]) {
      overlays.push(
        new OverlayNetworks({
          localAddr: host(h).address,
          runner: createRunner(host(h).netnsPath),
          logger: silentLogger(),
        }),
      );
    }
    for (const [i, o] of overlays.entries()) await o.apply(desiredFor(i + 1));
    for (const h of [1, 2, 3]) {
      const file = join(dir.path, `desired-h${h}.json`);
      await writeFile(file, JSON.stringify(desiredFor(h)));
      const proc = spawn(
        "nsenter",
        [
          `--net=${host(h).netnsPath}`,
          "--",
          process.execPath,
          "--conditions=shoal-source",
          "--import",
          "tsx",
          dnsMain,
          "--desired",
          file,
          "--upstream",
          `${gateway}:5353`,
        ],
        { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] },
      );
      processes.push(proc);
      const entry = { proc, file, loads: 1, out: "" };
      proc.stdout?.on("data", (d) => (entry.out += d));
      dns.push(entry);
      await waitFor(() => entry.out.includes("ready 1\n"), {
        description: `resolver on h${h}`,
        timeoutMs: 30_000,
      });
    }
    for (const t of tasks) {
      const p = spawn("nsenter", [`--net=/run/netns/${netns(t.id)}`, "--", process.execPath, "-e", SERVER], {
        env: { ...process.env, TASK: t.id },
        stdio: ["ignore", "pipe", "inherit"],
      });
      processes.push(p);
      let out = "";
      p.stdout?.on("data", (d) => (out += d));
      await waitFor(() => out.includes("listening"), { description: `server of ${t.id}`, timeoutMs: 30_000 });
    }
  }, 240_000);

  afterAll(async () => {
    for (const p of processes) p.kill("SIGKILL");
    upstream?.close();
    for (const o of overlays) await o.destroy().catch(() => {});
    for (const n of netnsPaths) await run(["ip", "netns", "del", n]).catch(() => {});
    await hosts?.destroy();
    await dir?.remove();
  }, 120_000);

  it("gives each network its own interface with the VXLAN MTU, and one VXLAN device per network", async () => {
    const links = await run(["ip", "-n", netns("a1"), "-o", "link", "show"]);
    expect(links).toMatch(/eth0@\S+: .* mtu 1450 /);
    expect(links).toMatch(/eth1@\S+: .* mtu 1450 /);
    const vx = (await host(2).exec("ip", ["-o", "-d", "link", "show", "type", "vxlan"])).stdout;
    expect(
      vx.split("\n").filter((l) => / vxlan id 41\d\d /.test(l) && l.includes("nolearning")),
    ).toHaveLength(3);
  });

  it("resolves <service>, <stack>_<service> and tasks.<service> on shared networks, forwards the rest", async () => {
    expect(await resolve("w1", "api")).toBe("10.61.1.100");
    expect(await resolve("w1", "app_api")).toBe("10.61.1.100");
    expect(await resolve("w1", "tasks.api")).toBe("10.61.1.20,10.61.1.21,10.61.1.22");
    // d1 asks on the back network: the VIP there.
    expect(await resolve("d1", "api")).toBe("10.61.2.100");
    // dnsrr: the task addresses, no VIP.
    expect(await resolve("a1", "db")).toBe("10.61.2.30");
    // db shares no network with web: not ours there, so the node's resolver says it does not exist.
    expect(await resolve("w1", "db")).toMatch(/^error /);
    expect(await resolve("w1", "example.test")).toBe("192.0.2.7");
  });

  it("reaches the middle by VIP across hosts, spread over every replica; never the back network", async () => {
    const answers = await get("w1", "10.61.1.100", 30);
    const seen = new Set(answers.map((a) => a.split(" ")[0]));
    expect([...seen].sort()).toEqual(["a1", "a2", "a3"]);
    // The backend sees the caller's own overlay address (the VIP's DNAT is in the caller's namespace).
    expect(answers.every((a) => a.endsWith(" 10.61.1.10"))).toBe(true);
    // Middle to back, across hosts (h2 → h3), on the internal network.
    expect(await get("a1", "10.61.2.30", 1)).toEqual(["d1 10.61.2.20"]);
    // Front cannot reach the back network, by task address or VIP.
    expect((await get("w1", "10.61.2.30", 1))[0]).toMatch(/^(error|timeout)/);
    expect((await get("w1", "10.61.2.100", 1))[0]).toMatch(/^(error|timeout)/);
    // Internal: no route out of the back network.
    expect((await get("d1", host(1).address, 1, 9))[0]).toMatch(/^error (ENETUNREACH|EHOSTUNREACH)/);
  });

  it("skips a replica whose health check fails, and takes it back when it passes", async () => {
    const sick = tasks.map((t) => (t.id === "a2" ? { ...t, healthy: false } : t));
    await applyAll(sick);
    const answers = await get("w1", "10.61.1.100", 30);
    const seen = new Set(answers.map((a) => a.split(" ")[0]));
    expect([...seen].sort()).toEqual(["a1", "a3"]);
    expect(await resolve("w1", "tasks.api")).toBe("10.61.1.20,10.61.1.22");
    await applyAll(tasks);
    const again = new Set((await get("w1", "10.61.1.100", 30)).map((a) => a.split(" ")[0]));
    expect([...again].sort()).toEqual(["a1", "a2", "a3"]);
  });

  it("answers an ingress port on nodes without a replica, and the task sees the client's own address", async () => {
    // From the test process (the harness gateway) to h1, which has no replica of pub (on h3).
    const r1 = await fetch(`http://${host(1).address}:8080/`, { signal: AbortSignal.timeout(5000) });
    expect(await r1.text()).toBe(`p1 ${hosts.gateway}`);
    // From test host h2 to h1: the task logs h2's address.
    const script = `fetch("http://${host(1).address}:8080/", { signal: AbortSignal.timeout(5000) }).then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(String(e.cause ?? e)); process.exit(1); })`;
    const r2 = await host(2).exec(process.execPath, ["-e", script], { timeoutMs: 15_000 });
    expect(r2.stdout).toBe(`p1 ${host(2).address}`);
    // And on the node holding the replica itself.
    const r3 = await fetch(`http://${host(3).address}:8080/`, { signal: AbortSignal.timeout(5000) });
    expect(await r3.text()).toBe(`p1 ${hosts.gateway}`);
  });

  it("takes a node that left out of DNS, VIP backends and every forwarding table", async () => {
    const fdb = async () => (await host(1).exec("bridge", ["fdb", "show"])).stdout;
    expect(await fdb()).toContain(`dst ${host(2).address} self permanent`);
    await applyAll(
      tasks.filter((t) => t.host !== 2),
      [1, 3],
    );
    expect(await resolve("w1", "tasks.api")).toBe("10.61.1.22");
    expect(new Set((await get("w1", "10.61.1.100", 10)).map((a) => a.split(" ")[0]))).toEqual(
      new Set(["a3"]),
    );
    expect(await fdb()).not.toContain(`dst ${host(2).address}`);
    expect((await host(1).exec("ip", ["neigh", "show"])).stdout).not.toContain("10.61.1.20 ");
    await applyAll(tasks);
    expect(await resolve("w1", "tasks.api")).toBe("10.61.1.20,10.61.1.21,10.61.1.22");
  });

  it("refuses a bad spec and changes nothing", async () => {
    const before = (await host(1).exec("ip", ["-o", "link", "show"])).stdout;
    const bad = desiredFor(1);
    const overlap = {
      ...bad,
      networks: [
        ...bad.networks,
        {
          ...NETS[1],
          id: "n-x",
          name: "x",
          vni: 4199,
          subnet: "10.61.1.128/25",
          gateway: "10.61.1.129",
          peers: [],
        } as OverlayNetworkSpec,
      ],
    };
    await expect(overlays[0]?.apply(overlap)).rejects.toThrow(/overlaps subnet 10\.61\.1\.0\/24/);
    const dup = {
      ...bad,
      networks: [
        ...bad.networks,
        {
          ...NETS[1],
          id: "n-y",
          vni: 4198,
          subnet: "10.62.0.0/24",
          gateway: "10.62.0.1",
          peers: [],
        } as OverlayNetworkSpec,
      ],
    };
    await expect(overlays[0]?.apply(dup)).rejects.toThrow(/network name "app_front" is in use/);
    expect((await host(1).exec("ip", ["-o", "link", "show"])).stdout).toBe(before);
  });

  it("after a kill -9 mid-attach, the next apply leaves nothing behind and connectivity is back", async () => {
    const extra: Task[] = Array.from({ length: 12 }, (_, i) => ({
      id: `x${i}`,
      service: "web",
      host: 1,
      addresses: { "n-front": `10.61.1.${150 + i}`, "n-tmp": `10.63.0.${10 + i}` },
    }));
    for (const t of extra) {
      await run(["ip", "netns", "add", netns(t.id)]);
      netnsPaths.push(netns(t.id));
    }
    const crashing = desiredFor(1, [...tasks, ...extra]);
    crashing.networks = [
      ...crashing.networks,
      { id: "n-tmp", name: "tmp", vni: 4150, subnet: "10.63.0.0/24", gateway: "10.63.0.1", peers: [] },
    ];
    const file = join(dir.path, "crash.json");
    await writeFile(file, JSON.stringify(crashing));
    const child = spawn(
      process.execPath,
      ["--conditions=shoal-source", "--import", "tsx", join(here, "fixtures/overlay-apply.ts")],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          OVERLAY_DESIRED: file,
          OVERLAY_NETNS: host(1).netnsPath,
          OVERLAY_LOCAL: host(1).address,
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    processes.push(child);
    const veths = async () =>
      (await host(1).exec("ip", ["-o", "link", "show", "type", "veth"])).stdout
        .split("\n")
        .filter((l) => / sve[0-9a-f]{10}@/.test(l));
    await waitFor(async () => (await veths()).length >= 6, {
      description: "the child to attach a few endpoints",
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("close", r));
    expect((await veths()).length).toBeLessThan(1 + 2 * extra.length);
    // Restart: apply what the manager knows now (the extra containers never started).
    await overlays[0]?.apply(desiredFor(1));
    expect(await veths()).toHaveLength(1); // w1's only
    const all = (await host(1).exec("ip", ["-o", "-d", "link", "show"])).stdout;
    expect(all.split("\n").filter((l) => / vxlan id /.test(l))).toHaveLength(3);
    expect(all).not.toMatch(/vxlan id 4150/);
    for (const t of extra) {
      const inside = await run(["ip", "-n", netns(t.id), "-o", "link", "show"]);
      expect(inside).not.toMatch(/eth\d/);
    }
    expect(new Set((await get("w1", "10.61.1.100", 20)).map((a) => a.split(" ")[0])).size).toBe(3);
  });
});
