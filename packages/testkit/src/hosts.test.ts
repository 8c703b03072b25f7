import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSync } from "./command.js";
import { TestkitErrorCode } from "./errors.js";
import type { TestHost } from "./host.js";
import { createHosts, type TestHosts } from "./hosts.js";
import { listNetns, listRootLinks, STATE_DIR } from "./registry.js";

const PORT = 7000;

/** A TCP server inside the host that answers every connection with the host's name. */
async function startNameServer(host: TestHost): Promise<ChildProcess> {
  const child = host.spawn(
    process.execPath,
    [
      "-e",
      "require('net').createServer((s) => s.end(process.argv[1])).listen(+process.argv[2], () => console.log('listening'))",
      host.name,
      String(PORT),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolve, reject) => {
    child.stdout?.once("data", resolve);
    child.once("exit", (code) => reject(new Error(`name server on ${host.name} exited with ${code}`)));
  });
  return child;
}

/** What `from` receives when it connects to `to`'s server, or undefined when it cannot connect within 1 s. */
async function probe(from: TestHost, to: TestHost): Promise<string | undefined> {
  const r = await from.exec("busybox", ["nc", "-w", "1", to.address, String(PORT)]);
  return r.code === 0 ? r.stdout : undefined;
}

/** The same from the test process itself, through the gateway link. */
function probeFromRoot(to: TestHost): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: to.address, port: PORT, timeout: 1000 });
    let data = "";
    socket.on("data", (b) => {
      data += String(b);
    });
    socket.on("end", () => resolve(data));
    socket.on("timeout", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on("error", () => resolve(undefined));
  });
}

describe("createHosts", () => {
  let hosts: TestHosts;
  let servers: ChildProcess[] = [];
  let h1: TestHost;
  let h2: TestHost;
  let h3: TestHost;

  beforeAll(async () => {
    hosts = await createHosts(3);
    [h1, h2, h3] = hosts.all as [TestHost, TestHost, TestHost];
    servers = await Promise.all(hosts.all.map(startNameServer));
  });
  afterAll(() => hosts?.destroy());

  it("names hosts by slot and gives each an address on the harness subnet", () => {
    const slot = hosts.slot;
    expect(hosts.id).toBe(`t${slot}`);
    expect(hosts.subnet).toBe(`10.231.${slot}.0/24`);
    expect(hosts.gateway).toBe(`10.231.${slot}.1`);
    expect(hosts.all.map((h) => [h.name, h.netns, h.address])).toEqual([
      ["h1", `shoal-t${slot}-h1`, `10.231.${slot}.11`],
      ["h2", `shoal-t${slot}-h2`, `10.231.${slot}.12`],
      ["h3", `shoal-t${slot}-h3`, `10.231.${slot}.13`],
    ]);
    expect(existsSync(join(STATE_DIR, `${slot}.json`))).toBe(true);
  });

  it("gives each host loopback and one interface, and nothing of the other hosts", async () => {
    const links = await h1.exec("ip", ["-o", "link", "show"]);
    expect(links.code).toBe(0);
    expect(links.stdout).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(
      links.stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l.split(/[:@]\s?/)[1]),
    ).toEqual(["lo", "eth0"]);
    const addrs = await h1.exec("ip", ["-4", "-o", "addr", "show", "dev", "eth0"]);
    expect(addrs.stdout).toContain(`inet ${h1.address}/24`);
  });

  it("lets three hosts reach each other over TCP, and the test process reach them all", async () => {
    for (const from of [h1, h2, h3]) {
      for (const to of [h1, h2, h3]) {
        expect(await probe(from, to), `${from.name} -> ${to.name}`).toBe(to.name);
      }
    }
    for (const to of [h1, h2, h3]) expect(await probeFromRoot(to), `root -> ${to.name}`).toBe(to.name);
  });

  it("cuts a link in both directions and heals it, leaving other links alone", async () => {
    await hosts.partition(h1, h2);
    expect(await probe(h1, h2), "h1 -> h2 while cut").toBeUndefined();
    expect(await probe(h2, h1), "h2 -> h1 while cut").toBeUndefined();
    expect(await probe(h1, h3)).toBe("h3");
    expect(await probe(h3, h2)).toBe("h2");

    await hosts.heal(h1, h2);
    expect(await probe(h1, h2), "h1 -> h2 after heal").toBe("h2");
    expect(await probe(h2, h1), "h2 -> h1 after heal").toBe("h1");
  });

  it("isolates a host from every other host but not from the test process, and rejoins it", async () => {
    await hosts.partition(3, 1);
    await hosts.isolate(h3);
    expect(await probe(h3, h1)).toBeUndefined();
    expect(await probe(h2, h3)).toBeUndefined();
    expect(await probe(h1, h2)).toBe("h2");
    expect(await probeFromRoot(h3)).toBe("h3");

    await hosts.rejoin(h3);
    // rejoin also drops the partition(3, 1) made before
    expect(await probe(h3, h1)).toBe("h1");
    expect(await probe(h2, h3)).toBe("h3");
  });

  it("adds and removes a host, taking its namespace and cuts with it", async () => {
    const h4 = await hosts.add();
    expect(h4.netns).toBe(`shoal-t${hosts.slot}-h4`);
    await startNameServer(h4);
    await hosts.partition(h4, h1);
    expect(await probe(h2, h4)).toBe("h4");
    expect(await probe(h1, h4)).toBeUndefined();

    await h4.remove();
    await h4.remove();
    expect(h4.removed).toBe(true);
    expect(listNetns()).not.toContain(h4.netns);
    expect(hosts.all).toEqual([h1, h2, h3]);
    await expect(h4.exec("true")).rejects.toThrow(`test host "${h4.netns}" was removed`);
    expect(await probe(h1, h2)).toBe("h2");
  });

  it("refuses to partition a host it does not know", async () => {
    await expect(hosts.partition(h1, 99)).rejects.toThrow(`test host 99 not found in harness "${hosts.id}"`);
    await expect(hosts.partition(h1, h1)).rejects.toThrow("cannot partition test host 1 from itself");
  });

  it("tears down everything: processes, namespaces, the root link, its address and the record", async () => {
    const slot = hosts.slot;
    await hosts.destroy();
    await hosts.destroy();
    expect(servers.every((s) => s.exitCode !== null || s.signalCode !== null)).toBe(true);
    expect(listNetns().filter((n) => n.startsWith(`shoal-t${slot}-`))).toEqual([]);
    expect(listRootLinks()).not.toContain(`shoaltk${slot}`);
    expect(runSync("ip", ["-o", "addr", "show"]).stdout).not.toContain(`10.231.${slot}.`);
    expect(runSync("ip", ["-4", "route", "show"]).stdout).not.toContain(`10.231.${slot}.`);
    expect(existsSync(join(STATE_DIR, `${slot}.json`))).toBe(false);
    const err = await hosts.partition(1, 2).catch((e: unknown) => e);
    expect(ShoalError.is(err, TestkitErrorCode.Destroyed)).toBe(true);
  });
});

describe("createHosts options", () => {
  it("uses an explicit subnet and can leave the root namespace out entirely", async () => {
    const hosts = await createHosts(2, { subnet: "192.168.231.0/28", rootLink: false });
    try {
      expect(hosts.gateway).toBeUndefined();
      expect(hosts.all.map((h) => h.address)).toEqual(["192.168.231.11", "192.168.231.12"]);
      expect(listRootLinks()).not.toContain(`shoaltk${hosts.slot}`);
      const ping = await hosts.get(1).exec("busybox", ["ping", "-c", "1", "-W", "1", "192.168.231.12"]);
      expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    } finally {
      await hosts.destroy();
    }
  });

  it("rejects counts and subnets out of range with the limit in the message", async () => {
    await expect(createHosts(5, { subnet: "192.168.231.0/28" })).rejects.toThrow(
      'subnet "192.168.231.0/28" holds 4 hosts, 5 asked',
    );
    await expect(createHosts(-1)).rejects.toThrow("host count -1 is not an integer from 0 to 200");
    await expect(createHosts(1, { subnet: "10.0.0.0/31" })).rejects.toThrow(
      'subnet "10.0.0.0/31" is not an IPv4 CIDR with a prefix from /8 to /28',
    );
  });
});
