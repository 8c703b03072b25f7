// Node networking stage 1 across real test hosts: bridge, IPAM, NAT, host-mode published ports,
// with real containers (runc under conmon, busybox httpd) and real network namespaces.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@shoal/base";
import {
  ContainerRuntime,
  createRunner,
  LocalImageStore,
  type NetworkState,
  NodeNetwork,
  type NodeNetworkOptions,
} from "@shoal/runtime";
import { buildBusyboxImage, writeOciArchive } from "@shoal/runtime/testing";
import { createHosts, type TempDir, type TestHost, type TestHosts, tempDir, waitFor } from "@shoal/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

const SUBNET = "10.88.7.0/24";
/** The many-containers case: how many, how many set up or torn down at once. */
const MANY = 100;
const MANY_PARALLEL = 4;
/**
 * Attach, create, start, stop, remove and detach of one container take well under a second here,
 * but several seconds on 2 cores shared with other suites (runc waits for a CPU): the timeout
 * scales with the count and leaves room for that, without asserting any speed.
 */
const MANY_TIMEOUT_MS = 60_000 + MANY * 3_000;

/**
 * Runs `fn` over `items`, at most `limit` at a time; results in the order of `items`. Once
 * `signal` aborts (the test timed out) or an item failed, no further item is started.
 */
async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      signal?.throwIfAborted();
      if (failed) return;
      try {
        out[i] = await fn(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  // Every worker finishes its item before a failure is passed on: cleaning up after it must not
  // race a create still in flight.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  for (const r of settled) if (r.status === "rejected") throw r.reason;
  return out;
}

const here = fileURLToPath(new URL(".", import.meta.url));

/** An HTTP GET from inside a network namespace (node's fetch; busybox wget crashes on refusals). */
async function httpGet(host: TestHost, url: string): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) }).then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(String(e.cause ?? e)); process.exit(1); })`;
  const r = await host.exec("node", ["-e", script], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`GET ${url} from ${host.name} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Runs `cmd` in a container's network namespace (client side of a test: what the container sees). */
function inNetns(netnsPath: string, host: TestHost) {
  return {
    ...host,
    name: `${host.name}:${netnsPath.split("/").pop()}`,
    exec: (cmd: string, args: readonly string[] = [], options = {}) =>
      host.exec("nsenter", [`--net=${netnsPath}`, "--", cmd, ...args], options),
  } as TestHost;
}

/** Removes a cgroup parent from every hierarchy, children first (the runtime removes only its containers'). */
async function removeCgroupParent(parent: string): Promise<void> {
  for (const hierarchy of await readdir("/sys/fs/cgroup")) {
    const dir = join("/sys/fs/cgroup", hierarchy, parent);
    const found = await new Promise<string>((resolve) =>
      execFile("find", [dir, "-depth", "-type", "d"], (_err, stdout) => resolve(stdout)),
    );
    for (const d of found.split("\n").filter((x) => x !== "")) await rmdir(d).catch(() => {});
  }
}

/** iptables-save without comments and counters, for comparing rule sets. */
function normalizedRules(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/g, ""));
}

async function kernelView(host: TestHost, netnsPrefix: string, vethPrefix = "sh") {
  const netns = (await host.exec("ip", ["netns", "list"])).stdout
    .split("\n")
    .filter((l) => l.startsWith(netnsPrefix));
  const vethName = new RegExp(` ${vethPrefix}[0-9a-f]{10}[@:]`);
  const links = (await host.exec("ip", ["-o", "link", "show", "type", "veth"])).stdout
    .split("\n")
    .filter((l) => vethName.test(l));
  const addrs = (await host.exec("ip", ["-o", "addr"])).stdout
    .split("\n")
    .filter((l) => l.includes("10.88.7."));
  const rules = (await host.exec("iptables-save", [])).stdout;
  return { netns, links, addrs, rules, dnat: rules.split("\n").filter((l) => l.includes("-j DNAT")) };
}

describe("node networking, stage 1", () => {
  let hosts: TestHosts;
  let dir: TempDir;
  let h1: TestHost;
  let h2: TestHost;
  let net: NodeNetwork;
  let runtime: ContainerRuntime;
  let images: LocalImageStore;
  const processes: ChildProcess[] = [];
  const cgroupParent = `/shoal-net-e2e-${process.pid}`;
  /** While set, every rule set given to the real iptables-restore carries a rule it refuses. */
  let breakRules = false;
  const options = (): NodeNetworkOptions => {
    const real = createRunner(h1.netnsPath);
    return {
      stateDir: join(dir.path, "net"),
      subnet: SUBNET,
      netnsPrefix: `shoal-e2e${process.pid}-`,
      runner: {
        run: (cmd, args, o = {}) =>
          real.run(cmd, args, {
            ...o,
            // The nat table commits; the filter table then fails on a target that does not exist.
            ...(cmd === "iptables-restore" && breakRules && o.input !== undefined
              ? { input: o.input.replace(/COMMIT\n$/, "-A SHOAL-FORWARD -j NO-SUCH-TARGET\nCOMMIT\n") }
              : {}),
          }),
      },
      logger: silentLogger(),
    };
  };

  beforeAll(async () => {
    dir = await tempDir("shoal-net-e2e-");
    hosts = await createHosts(2);
    [h1, h2] = hosts.all as [TestHost, TestHost];
    net = await NodeNetwork.open(options());
    images = new LocalImageStore({ root: join(dir.path, "images") });
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
    await net?.destroy().catch(() => {});
    await hosts?.destroy();
    await dir?.remove();
  }, 120_000);

  /**
   * Stops and removes the containers and detaches the leases whose id matches, what a failed test
   * left; every one is tried, and the failures are returned.
   */
  async function removeLeftovers(match: (id: string) => boolean): Promise<unknown[]> {
    const containers = (await runtime.list()).map((c) => c.id).filter(match);
    const leases = net
      .leases()
      .map((l) => l.containerId)
      .filter(match);
    const ids = [...new Set([...containers, ...leases])];
    const failures: unknown[] = [];
    await inBatches(ids, MANY_PARALLEL, undefined, async (id) => {
      try {
        if (containers.includes(id)) {
          await runtime.stop(id, { graceMs: 0 });
          await runtime.remove(id);
        }
        if (leases.includes(id)) await net.detach(id);
      } catch (err) {
        failures.push(err);
      }
    });
    return failures;
  }

  /** The many-containers run in flight: a timed-out test's body goes on, the next test waits for it. */
  let manyRun: Promise<void> | undefined;
  afterEach(async () => {
    await Promise.allSettled([manyRun]);
    manyRun = undefined;
  }, MANY_TIMEOUT_MS);

  async function startHttpd(id: string, publishedPort?: number) {
    const attachment = await net.attach({
      containerId: id,
      ports: [{ targetPort: 80, ...(publishedPort === undefined ? {} : { publishedPort }) }],
    });
    await runtime.create({
      id,
      spec: {
        image: "busybox:latest",
        command: [
          "sh",
          "-c",
          `mkdir -p /www && echo "hello from ${id}" > /www/index.html && exec httpd -f -p 80 -h /www`,
        ],
      },
      owner: { taskId: id, serviceId: "web" },
      network: { kind: "netns", path: attachment.netnsPath, ...(attachment.ip ? { ip: attachment.ip } : {}) },
    });
    await runtime.start(id);
    return attachment;
  }

  it("publishes 8080→80 of a container on host 1 to host 2, to host 1 itself and to its containers", async () => {
    const web = await startHttpd("web1", 8080);
    expect(web.ports).toEqual([{ protocol: "tcp", targetPort: 80, publishedPort: 8080 }]);
    const url = `http://${h1.address}:8080/`;
    await waitFor(() => httpGet(h2, url).catch(() => false), { description: `${url} answering from h2` });
    expect(await httpGet(h2, url)).toBe("hello from web1\n");
    expect(await httpGet(h1, url)).toBe("hello from web1\n");
    // Hairpin: the container reaches its own node's published port, and so does a neighbour.
    expect(await httpGet(inNetns(web.netnsPath, h1), url)).toBe("hello from web1\n");
    const other = await net.attach({ containerId: "client1" });
    expect(await httpGet(inNetns(other.netnsPath, h1), url)).toBe("hello from web1\n");
    // Two containers on host 1 reach each other by IP.
    expect(await httpGet(inNetns(other.netnsPath, h1), `http://${web.ip}/`)).toBe("hello from web1\n");
    await net.detach("client1");
    // A neighbour that routes the container subnet through host 1 reaches published ports only.
    const route = ["route", "add", SUBNET, "via", h1.address];
    expect((await h2.exec("ip", route)).code).toBe(0);
    try {
      await expect(httpGet(h2, `http://${web.ip}/`)).rejects.toThrow(/failed/);
      expect(await httpGet(h2, url)).toBe("hello from web1\n");
    } finally {
      await h2.exec("ip", ["route", "del", SUBNET]);
    }
  });

  it("picks an ephemeral port when none is given and refuses a port that is taken", async () => {
    const web = await startHttpd("web2");
    const published = web.ports[0]?.publishedPort ?? 0;
    expect(published).toBeGreaterThanOrEqual(49153);
    await waitFor(() => httpGet(h2, `http://${h1.address}:${published}/`).catch(() => false), {
      description: "the ephemeral port answering",
    });
    await expect(
      net.attach({ containerId: "dup", ports: [{ targetPort: 80, publishedPort: 8080 }] }),
    ).rejects.toThrow('port 8080/tcp for container "dup" is already used by another container');
    expect(net.lease("dup")).toBeUndefined();
  });

  it("lets a container reach a TCP server on host 2 through NAT, seen from host 1's address", async () => {
    const server = h2.spawn("node", [
      "-e",
      "require('net').createServer(s => s.end(s.remoteAddress + '\\n')).listen(9000)",
    ]);
    processes.push(server);
    const client = await net.attach({ containerId: "nat-client" });
    const script = `const s = require('net').connect(9000, ${JSON.stringify(h2.address)}); s.on('data', d => { process.stdout.write(d); s.end(); }); s.on('error', e => { console.error(String(e)); process.exit(1); })`;
    const seen = await waitFor(
      async () => {
        const r = await inNetns(client.netnsPath, h1).exec("node", ["-e", script], { timeoutMs: 5000 });
        return r.code === 0 ? r.stdout.trim() : false;
      },
      { description: "the TCP server on h2 answering the container" },
    );
    expect(seen).toMatch(new RegExp(`^(::ffff:)?${h1.address.replaceAll(".", "\\.")}$`));
    const flows = await h1.exec("conntrack", ["-L", "-s", client.ip ?? ""]);
    expect(flows.stdout).toContain(`src=${client.ip}`);
    await net.detach("nat-client");
    // Its NAT flows go with it: a new container given the address must not inherit them.
    expect((await h1.exec("conntrack", ["-L", "-s", client.ip ?? ""])).stdout).not.toContain(
      `src=${client.ip}`,
    );
  });

  it(
    `gives ${MANY} running containers ${MANY} distinct addresses and leaves nothing after removing them`,
    async ({ signal }) => {
      manyRun = manyContainers(signal);
      await manyRun;
    },
    MANY_TIMEOUT_MS,
  );

  /** The many-containers case; cleans up whatever it left however it ends, timeouts included. */
  async function manyContainers(signal: AbortSignal): Promise<void> {
    const before = await kernelView(h1, options().netnsPrefix ?? "");
    const ids = Array.from({ length: MANY }, (_, i) => `many${i}`);
    let failure: unknown;
    try {
      // Attaches queue inside NodeNetwork; creates and starts overlap a few at a time.
      const attached = await inBatches(ids, MANY_PARALLEL, signal, async (id) => {
        const a = await net.attach({ containerId: id, ports: [{ targetPort: 80 }] });
        // A real container in each namespace: its own view of eth0 must show the leased address.
        await runtime.create({
          id,
          spec: { image: "busybox:latest", command: ["sleep", "3600"] },
          owner: { taskId: id, serviceId: "many" },
          network: { kind: "netns", path: a.netnsPath, ...(a.ip ? { ip: a.ip } : {}) },
        });
        await runtime.start(id);
        return a;
      });
      expect(new Set(attached.map((a) => a.ip)).size).toBe(MANY);
      expect(
        (await runtime.list()).filter((c) => c.id.startsWith("many") && c.state === "running").length,
      ).toBe(MANY);
      const seen = await runtime.exec("many42", ["ip", "-o", "-4", "addr", "show", "eth0"]);
      expect(seen.output).toContain(`inet ${attached[42]?.ip}/24`);
      expect(new Set(attached.map((a) => a.ports[0]?.publishedPort)).size).toBe(MANY);
      const during = await kernelView(h1, options().netnsPrefix ?? "");
      expect(during.netns.length).toBe(before.netns.length + MANY);
      expect(during.dnat.length).toBe(before.dnat.length + MANY);
      await inBatches(ids, MANY_PARALLEL, signal, async (id) => {
        await runtime.stop(id, { graceMs: 0 });
        await runtime.remove(id);
        await net.detach(id);
      });
      const after = await kernelView(h1, options().netnsPrefix ?? "");
      expect(after.netns).toEqual(before.netns);
      expect(after.links.length).toBe(before.links.length);
      expect(after.addrs).toEqual(before.addrs);
      expect(after.dnat).toEqual(before.dnat);
      for (const id of ids) expect(after.rules).not.toContain(`--comment ${id} `);
      const state = JSON.parse(
        await readFile(join(options().stateDir, "network.json"), "utf8"),
      ) as NetworkState;
      expect(Object.keys(state.leases).filter((id) => id.startsWith("many"))).toEqual([]);
    } catch (err) {
      failure = err;
    }
    // After a failure the next tests must not start among a hundred leftovers.
    const leftovers = await removeLeftovers((id) => id.startsWith("many"));
    if (failure !== undefined) {
      throw leftovers.length === 0
        ? failure
        : new AggregateError([failure, ...leftovers], "the test failed, and so did removing what it left");
    }
    if (leftovers.length > 0) throw leftovers[0];
  }

  it("undoes an attach whose iptables-restore fails (the undo's too): nothing left, and no DNAT after a reopen", async () => {
    breakRules = true;
    const err = await net
      .attach({ containerId: "badrules", ports: [{ targetPort: 80, publishedPort: 8099 }] })
      .catch((e: unknown) => e);
    breakRules = false;
    expect(err).toMatchObject({ code: "NETWORK_COMMAND_FAILED" });
    expect(net.lease("badrules")).toBeUndefined();
    const after = await kernelView(h1, options().netnsPrefix ?? "");
    expect(after.netns.filter((n) => n.includes("badrules"))).toEqual([]);
    const veth = `sh${createHash("sha256").update(`${options().netnsPrefix}/badrules`).digest("hex").slice(0, 10)}`;
    expect(after.links.filter((l) => l.includes(veth))).toEqual([]);
    const state = JSON.parse(
      await readFile(join(options().stateDir, "network.json"), "utf8"),
    ) as NetworkState;
    expect(state.leases.badrules).toBeUndefined();
    // A restart of the node's networking applies the record, which has no rule of the failed attach.
    await net.close();
    net = await NodeNetwork.open(options());
    const reopened = await kernelView(h1, options().netnsPrefix ?? "");
    expect(reopened.rules).not.toContain("--comment badrules ");
    expect(reopened.dnat.filter((l) => l.includes("--dport 8099"))).toEqual([]);
    // Its port is free.
    const web = await startHttpd("web-after-bad", 8099);
    expect(web.ports[0]?.publishedPort).toBe(8099);
    await runtime.stop("web-after-bad", { graceMs: 0 });
    await runtime.remove("web-after-bad");
    await net.detach("web-after-bad");
  }, 120_000);

  it("releases at open the lease of a container that was never created (agent died between attach and create)", async () => {
    await net.attach({
      containerId: "orphan",
      ports: [{ targetPort: 80, publishedPort: 8098 }],
    });
    expect((await kernelView(h1, options().netnsPrefix ?? "")).rules).toContain("--comment orphan ");
    // The agent dies here; on restart it opens the runtime, then the network with its containers.
    await net.close();
    net = await NodeNetwork.open({ ...options(), containerIds: (await runtime.list()).map((c) => c.id) });
    expect(net.lease("orphan")).toBeUndefined();
    const view = await kernelView(h1, options().netnsPrefix ?? "");
    expect(view.netns.filter((n) => n.includes("orphan"))).toEqual([]);
    expect(view.rules).not.toContain("--comment orphan ");
    // Its port is free for the next container.
    const next = await net.attach({
      containerId: "after-orphan",
      ports: [{ targetPort: 80, publishedPort: 8098 }],
    });
    expect(next.ports[0]?.publishedPort).toBe(8098);
    await net.detach("after-orphan");
  }, 120_000);

  it("reconciles rules and leases after the owning process is killed mid-way through starting 10 containers", async () => {
    const crashDir = join(dir.path, "crash");
    const prefix = `shoal-crash${process.pid}-`;
    const crashCgroup = `/shoal-net-crash-${process.pid}`;
    const child = spawn(
      "node",
      ["--conditions=shoal-source", "--import", "tsx", join(here, "fixtures/attach-ten.ts")],
      {
        env: {
          ...process.env,
          NET_DIR: crashDir,
          NET_NETNS: h1.netnsPath,
          NET_PREFIX: prefix,
          NET_CGROUP: crashCgroup,
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    processes.push(child);
    const done: { id: string; ip: string; port: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      let buffered = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        for (const line of buffered.split("\n").slice(0, -1)) {
          const [id, ip, port] = line.split(" ");
          if (id !== undefined && ip !== undefined) done.push({ id, ip, port: Number(port) });
        }
        buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
        if (done.length >= 5) {
          child.kill("SIGKILL");
          resolve();
        }
      });
      child.on("exit", (code) =>
        done.length < 5 ? reject(new Error(`child exited early (${code})`)) : undefined,
      );
    });
    await new Promise((r) => child.once("exit", r));
    // The crashed run used a second bridge on the same host: give it its own names (as the child did).
    const crashOptions: NodeNetworkOptions = {
      stateDir: crashDir,
      subnet: "10.88.9.0/24",
      bridge: "shoalc0",
      chainPrefix: "SHOALC",
      netnsPrefix: prefix,
      vethPrefix: "sc",
      runner: createRunner(h1.netnsPath),
      logger: silentLogger(),
    };
    const restarted = await NodeNetwork.open(crashOptions);
    try {
      const leases = restarted.leases();
      // Every attach that returned is kept with its address and port; unfinished ones are gone.
      for (const d of done) {
        const lease = restarted.lease(d.id);
        expect(lease?.ip).toBe(d.ip);
        expect(lease?.ports[0]?.publishedPort).toBe(d.port);
      }
      // One attach at a time: at most the one in flight at the kill is kept besides those that returned.
      expect(leases.length).toBeGreaterThanOrEqual(done.length);
      expect(leases.length).toBeLessThanOrEqual(done.length + 1);
      const view = await kernelView(h1, prefix, "sc");
      expect(view.netns.length).toBe(leases.length);
      expect(view.links.length).toBe(leases.length);
      // Every kept attachment is whole inside its namespace too (open re-applies address and route).
      for (const lease of leases) {
        const inside = await h1.exec("ip", ["-n", lease.netns, "-o", "addr", "show", "dev", "eth0"]);
        expect(inside.stdout).toContain(`inet ${lease.ip}/24`);
        const routes = await h1.exec("ip", ["-n", lease.netns, "route", "show", "default"]);
        expect(routes.stdout).toContain("default via 10.88.9.1");
      }
      const ours = view.rules.split("\n").filter((l) => l.startsWith("-A SHOALC-DNAT"));
      expect(ours.length).toBe(leases.length);
      expect(new Set(ours).size).toBe(ours.length);
      const jumps = view.rules.split("\n").filter((l) => l.includes("-j SHOALC-"));
      expect(new Set(jumps).size).toBe(jumps.length);
      // The servers the killed process started keep answering on their addresses and ports.
      for (const d of done) {
        expect(await httpGet(h2, `http://${h1.address}:${d.port}/`)).toBe(`hello from ${d.id}\n`);
      }
      // A second open changes nothing: no duplicate rules pile up.
      const rulesBefore = normalizedRules(view.rules);
      const again = await NodeNetwork.open(crashOptions);
      expect(normalizedRules((await kernelView(h1, prefix)).rules)).toEqual(rulesBefore);
      expect(again.leases().length).toBe(leases.length);
    } finally {
      // The killed process's containers: re-adopted by a new runtime on its data dir, then removed.
      const images = new LocalImageStore({ root: join(crashDir, "images") });
      await images.open();
      const adopter = await ContainerRuntime.open({
        root: join(crashDir, "rt"),
        cgroupParent: crashCgroup,
        nodeId: "h1",
        images,
        logger: silentLogger(),
      });
      const report = adopter.recovery;
      expect(report.adopted.length).toBeGreaterThanOrEqual(done.length);
      for (const c of await adopter.list()) {
        await adopter.stop(c.id, { graceMs: 0 }).catch(() => {});
        await adopter.remove(c.id);
      }
      await adopter.close();
      await removeCgroupParent(crashCgroup);
      await restarted.destroy();
    }
    const after = await kernelView(h1, prefix, "sc");
    expect(after.netns).toEqual([]);
    expect(after.links).toEqual([]);
    expect(after.rules).not.toContain("SHOALC");
  }, 120_000);
});
