// A real container (runc under conmon, busybox httpd) on an overlay network: its namespace comes
// from the node network (mode none), its overlay interface from OverlayNetworks, and a client on
// another host reaches it through the VIP; inside the container, busybox resolves the service at
// the embedded resolver on its gateway.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ShoalError, silentLogger } from "@shoal/base";
import {
  ContainerRuntime,
  createRunner,
  LocalImageStore,
  NetworkErrorCode,
  NodeNetwork,
  type OverlayDesired,
  OverlayNetworks,
} from "@shoal/runtime";
import { buildBusyboxImage, writeOciArchive } from "@shoal/runtime/testing";
import { createHosts, type TempDir, type TestHost, type TestHosts, tempDir, waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = join(here, "..");
const dnsMain = join(repoRoot, "packages/runtime/src/network/dns-main.ts");

async function removeCgroupParent(parent: string): Promise<void> {
  for (const hierarchy of await readdir("/sys/fs/cgroup")) {
    const dir = join("/sys/fs/cgroup", hierarchy, parent);
    const found = await new Promise<string>((resolve) =>
      execFile("find", [dir, "-depth", "-type", "d"], (_err, stdout) => resolve(stdout)),
    );
    for (const d of found.split("\n").filter((x) => x !== "")) await rmdir(d).catch(() => {});
  }
}

describe("a runc container on an overlay network", () => {
  let hosts: TestHosts;
  let dir: TempDir;
  let h1: TestHost;
  let h2: TestHost;
  let net: NodeNetwork;
  let runtime: ContainerRuntime;
  const overlays: OverlayNetworks[] = [];
  const processes: ChildProcess[] = [];
  const clientNetns = `sor${process.pid}-client`;
  const cgroupParent = `/shoal-overlay-e2e-${process.pid}`;
  let containerNetns = "";

  const desired = (
    h: TestHost,
    extra: OverlayDesired["endpoints"] = [],
    h1Extra: { ip: string }[] = [],
  ): OverlayDesired => ({
    networks: [
      {
        id: "front",
        name: "app_front",
        vni: 4400,
        subnet: "10.65.0.0/24",
        gateway: "10.65.0.1",
        peers: [
          { nodeAddr: h1.address, endpoints: [{ ip: "10.65.0.10" }, ...h1Extra] },
          { nodeAddr: h2.address, endpoints: [{ ip: "10.65.0.20" }] },
        ],
      },
    ],
    endpoints: [
      ...(h === h1
        ? [
            {
              containerId: "api1",
              netns: containerNetns,
              attachments: [{ networkId: "front", ip: "10.65.0.10" }],
            },
          ]
        : [
            {
              containerId: "client",
              netns: clientNetns,
              attachments: [{ networkId: "front", ip: "10.65.0.20" }],
            },
          ]),
      ...extra,
    ],
    services: [
      {
        id: "s-api",
        name: "api",
        stack: "app",
        vips: [{ networkId: "front", ip: "10.65.0.100" }],
        tasks: [{ nodeAddr: h1.address, addresses: [{ networkId: "front", ip: "10.65.0.10" }] }],
      },
    ],
  });

  beforeAll(async () => {
    dir = await tempDir("shoal-overlay-runc-");
    hosts = await createHosts(2);
    [h1, h2] = hosts.all as [TestHost, TestHost];
    net = await NodeNetwork.open({
      stateDir: join(dir.path, "net"),
      subnet: "10.88.11.0/24",
      netnsPrefix: `sor${process.pid}-c-`,
      runner: createRunner(h1.netnsPath),
      logger: silentLogger(),
    });
    const images = new LocalImageStore({ root: join(dir.path, "images") });
    await images.open();
    const archive = join(dir.path, "busybox.tar");
    await writeOciArchive(await buildBusyboxImage("one-layer"), archive, "busybox:latest");
    await images.importImage(archive, { ref: "busybox:latest" });
    runtime = await ContainerRuntime.open({
      root: join(dir.path, "rt"),
      cgroupParent,
      nodeId: "h1",
      images,
      logger: silentLogger(),
    });
    await new Promise((r) => spawn("ip", ["netns", "add", clientNetns]).on("close", r));
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) p.kill("SIGKILL");
    if (runtime !== undefined) {
      for (const c of await runtime.list()) {
        await runtime.stop(c.id, { graceMs: 0 }).catch(() => {});
        await runtime.remove(c.id).catch(() => {});
      }
      await runtime.close();
    }
    await removeCgroupParent(cgroupParent);
    for (const o of overlays) await o.destroy().catch(() => {});
    await net?.destroy().catch(() => {});
    await new Promise((r) => spawn("ip", ["netns", "del", clientNetns]).on("close", r));
    await hosts?.destroy();
    await dir?.remove();
  }, 120_000);

  it("serves through the VIP from another host and resolves names at its gateway", async () => {
    const attachment = await net.attach({ containerId: "api1", mode: "none" });
    containerNetns = attachment.netnsPath.split("/").pop() as string;
    for (const h of [h1, h2]) {
      const o = new OverlayNetworks({
        localAddr: h.address,
        runner: createRunner(h.netnsPath),
        logger: silentLogger(),
      });
      overlays.push(o);
      await o.apply(desired(h));
    }
    const file = join(dir.path, "desired.json");
    await writeFile(file, JSON.stringify(desired(h1)));
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
    let out = "";
    dns.stdout?.on("data", (d) => (out += d));
    await waitFor(() => out.includes("ready 1"), { description: "resolver on h1", timeoutMs: 30_000 });

    await runtime.create({
      id: "api1",
      spec: {
        image: "busybox:latest",
        command: [
          "sh",
          "-c",
          'mkdir -p /www && echo "hello from api1" > /www/index.html && exec httpd -f -p 80 -h /www',
        ],
      },
      owner: { taskId: "api1", serviceId: "api" },
      network: { kind: "netns", path: attachment.netnsPath },
    });
    await runtime.start("api1");
    const seen = await runtime.exec("api1", ["ip", "-o", "-4", "addr", "show", "eth0"]);
    expect(seen.output).toContain("inet 10.65.0.10/24");
    const link = await runtime.exec("api1", ["ip", "-o", "link", "show", "eth0"]);
    expect(link.output).toContain("mtu 1450");
    const lookup = await runtime.exec("api1", ["nslookup", "app_api", "10.65.0.1"]);
    expect(lookup.output).toContain("10.65.0.100");

    const script = `fetch("http://10.65.0.100/", { signal: AbortSignal.timeout(3000) }).then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(String(e.cause ?? e)); process.exit(1); })`;
    const get = () =>
      new Promise<string>((resolve) =>
        execFile(
          "nsenter",
          [`--net=/run/netns/${clientNetns}`, "--", process.execPath, "-e", script],
          (_e, stdout) => resolve(stdout),
        ),
      );
    await waitFor(async () => (await get()) === "hello from api1\n", {
      description: "the VIP answering from h2",
    });
  });

  it("applies the rest and names the endpoint whose namespace is missing", async () => {
    const o = overlays[1] as OverlayNetworks;
    const bad = desired(h2, [
      {
        containerId: "ghost",
        netns: `sor${process.pid}-none`,
        attachments: [{ networkId: "front", ip: "10.65.0.30" }],
      },
    ]);
    const err = await o.apply(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShoalError);
    expect((err as ShoalError).code).toBe(NetworkErrorCode.OverlayEndpointFailed);
    expect((err as ShoalError).message).toContain('"ghost"');
    // The client's endpoint and the node rules are still in place.
    const r = await h2.exec("iptables-save", ["-t", "filter"]);
    expect(r.stdout).toContain("-A SHOAL-OV-FWD");
    await o.apply(desired(h2));
  });

  it("shares a namespace with the node bridge: its eth0 and default route stay, the overlay joins as eth1", async () => {
    const web = await net.attach({ containerId: "web1" });
    const webNetns = web.netnsPath.split("/").pop() as string;
    const o = overlays[0] as OverlayNetworks;
    const endpoint = (ifname?: string) => ({
      containerId: "web1",
      netns: webNetns,
      attachments: [{ networkId: "front", ip: "10.65.0.11", ...(ifname === undefined ? {} : { ifname }) }],
    });
    const clash = await o.apply(desired(h1, [endpoint()], [{ ip: "10.65.0.11" }])).catch((e: unknown) => e);
    expect((clash as ShoalError).code).toBe(NetworkErrorCode.OverlayEndpointFailed);
    expect((clash as ShoalError).message).toContain('interface "eth0" already exists');
    await o.apply(desired(h1, [endpoint("eth1")], [{ ip: "10.65.0.11" }]));
    const routes = await h1.exec("ip", ["-n", webNetns, "route", "show", "default"]);
    expect(routes.stdout).toContain(`via ${net.gateway} dev eth0`);
    const script = `fetch("http://10.65.0.100/", { signal: AbortSignal.timeout(3000) }).then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(String(e.cause ?? e)); process.exit(1); })`;
    const r = await h1.exec("nsenter", [`--net=${web.netnsPath}`, "--", process.execPath, "-e", script], {
      timeoutMs: 15_000,
    });
    expect(r.stdout).toBe("hello from api1\n");
    await o.apply(desired(h1));
    await net.detach("web1");
  });
});
