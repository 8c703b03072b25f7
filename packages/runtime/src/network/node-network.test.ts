import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ShoalError, silentLogger } from "@shoal/base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NetworkErrorCode } from "./errors.js";
import { NodeNetwork } from "./node-network.js";
import type { CommandRunner } from "./runner.js";
import type { NetworkState } from "./state.js";

interface Call {
  cmd: string;
  args: string[];
  input?: string | undefined;
}

/**
 * A runner that plays a kernel which already holds `netns` and `veths`, and records every command:
 * enough to check what `open` does about recorded state without root or real namespaces (the
 * end-to-end test in test/network-stage1.test.ts does the real thing).
 */
function fakeKernel(netns: string[], veths: string[]): { runner: CommandRunner; calls: Call[] } {
  const calls: Call[] = [];
  const runner: CommandRunner = {
    async run(cmd, args, options = {}) {
      calls.push({ cmd, args: [...args], input: options.input });
      const line = [cmd, ...args].join(" ");
      if (line === "ip netns list")
        return { stdout: netns.map((n) => `${n} (id: 0)\n`).join(""), stderr: "" };
      if (line === "ip -o link show type veth") {
        // A leading "-" marks a veth that is not (yet) enslaved to the bridge.
        const text = veths.map((v, i) =>
          v.startsWith("-")
            ? `${i + 10}: ${v.slice(1)}@if2: <UP> mtu 1500 state UP\n`
            : `${i + 10}: ${v}@if2: <UP> mtu 1500 master shoal0 state UP\n`,
        );
        return { stdout: text.join(""), stderr: "" };
      }
      if (line.startsWith("ip -o link show dev")) return { stdout: "3: shoal0: <UP>\n", stderr: "" };
      return { stdout: "", stderr: "" };
    },
  };
  return { runner, calls };
}

describe("NodeNetwork.open reconciles the kernel with the record", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-net-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function record(state: NetworkState): Promise<void> {
    await writeFile(join(dir, "network.json"), JSON.stringify(state));
  }

  it("re-applies a kept attachment's address and route (a kill between the two ip batches)", async () => {
    await record({
      version: 1,
      subnet: "10.88.1.0/24",
      leases: {
        c1: { containerId: "c1", ip: "10.88.1.2", netns: "shoal-c-c1", hostVeth: "sh0123456789", ports: [] },
      },
    });
    const { runner, calls } = fakeKernel(["shoal-c-c1"], ["sh0123456789"]);
    const net = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.1.0/24",
      runner,
      logger: silentLogger(),
    });
    expect(net.lease("c1")?.ip).toBe("10.88.1.2");
    const inside = calls.find((c) => c.cmd === "ip" && c.args.join(" ") === "-n shoal-c-c1 -batch -");
    expect(inside?.input).toBe(
      "link set lo up\nlink set eth0 up\naddr replace 10.88.1.2/24 dev eth0\nroute replace default via 10.88.1.1\n",
    );
    const hairpin = calls.find((c) => c.input?.includes("hairpin on"));
    expect(hairpin?.input).toBe("link set sh0123456789 type bridge_slave hairpin on\n");
    expect(calls.some((c) => c.args[0] === "netns" && c.args[1] === "del")).toBe(false);
  });

  it("keeps a complete lease whose names carry another prefix (an older default)", async () => {
    await record({
      version: 1,
      subnet: "10.88.1.0/24",
      leases: {
        old: { containerId: "old", ip: "10.88.1.4", netns: "shoal-old", hostVeth: "xx0123456789", ports: [] },
      },
    });
    const { runner, calls } = fakeKernel(["shoal-old"], ["xx0123456789"]);
    const net = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.1.0/24",
      runner,
      logger: silentLogger(),
    });
    expect(net.lease("old")?.ip).toBe("10.88.1.4");
    expect(calls.some((c) => c.args[1] === "del")).toBe(false);
  });

  it("drops unfinished leases and deletes only namespaces with its own prefix", async () => {
    await record({
      version: 1,
      subnet: "10.88.1.0/24",
      leases: {
        half: {
          containerId: "half",
          ip: "10.88.1.3",
          netns: "shoal-c-half",
          hostVeth: "sh9999999999",
          ports: [],
        },
      },
    });
    // The testkit's hosts live in /run/netns too, under "shoal-t<slot>-…": never ours.
    const { runner, calls } = fakeKernel(
      ["shoal-t3-h1", "shoal-t3-sw", "shoal-c-half", "shoal-c-stray"],
      // The half attach's veth (killed before it joined the bridge), a stray of ours, others' veths.
      ["-sh9999999999", "sh00000000ff", "shoaltk3", "shXYZ0000000"],
    );
    const net = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.1.0/24",
      runner,
      logger: silentLogger(),
    });
    expect(net.leases()).toEqual([]);
    const deleted = calls.filter((c) => c.args[0] === "netns" && c.args[1] === "del").map((c) => c.args[2]);
    expect(deleted.sort()).toEqual(["shoal-c-half", "shoal-c-stray"]);
    const links = calls.filter((c) => c.args[0] === "link" && c.args[1] === "del").map((c) => c.args[2]);
    expect(links.sort()).toEqual(["sh00000000ff", "sh9999999999"]);
    expect(calls.some((c) => c.input?.includes("addr replace"))).toBe(false);
  });
});

describe("NodeNetwork.open with a subnet other than the recorded one", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-net-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses while containers still hold addresses of the old subnet, and changes nothing", async () => {
    const recorded: NetworkState = {
      version: 1,
      subnet: "10.88.1.0/24",
      leases: {
        c1: { containerId: "c1", ip: "10.88.1.2", netns: "shoal-c-c1", hostVeth: "sh0123456789", ports: [] },
      },
    };
    await writeFile(join(dir, "network.json"), JSON.stringify(recorded));
    const { runner, calls } = fakeKernel(["shoal-c-c1"], ["sh0123456789"]);
    const err = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.2.0/24",
      runner,
      logger: silentLogger(),
    }).catch((e: unknown) => e);
    expect(ShoalError.is(err, NetworkErrorCode.SubnetChanged)).toBe(true);
    expect((err as Error).message).toBe(
      'node subnet "10.88.2.0/24" differs from "10.88.1.0/24", which 1 attached container(s) still use',
    );
    expect(calls).toEqual([]);
    expect(JSON.parse(await readFile(join(dir, "network.json"), "utf8"))).toEqual(recorded);
  });

  it("moves to the new subnet when nothing holds the old one, taking the old gateway off the bridge", async () => {
    await writeFile(
      join(dir, "network.json"),
      JSON.stringify({ version: 1, subnet: "10.88.1.0/24", leases: {} }),
    );
    const { runner, calls } = fakeKernel([], []);
    const net = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.2.0/24",
      runner,
      logger: silentLogger(),
    });
    expect(net.gateway).toBe("10.88.2.1");
    const lines = calls.map((c) => [c.cmd, ...c.args].join(" "));
    expect(lines).toContain("ip addr del 10.88.1.1/24 dev shoal0");
    expect(lines).toContain("ip addr replace 10.88.2.1/24 dev shoal0");
    const saved = JSON.parse(await readFile(join(dir, "network.json"), "utf8")) as NetworkState;
    expect(saved.subnet).toBe("10.88.2.0/24");
  });
});

describe("NodeNetwork.open with an unreadable record", () => {
  it.each(["null", '{"version":1,"subnet":"10.88.1.0/24","leases":null}', '{"version":1,"leases":{}}', "{"])(
    "refuses %s with NETWORK_STATE_CORRUPT and touches nothing",
    async (text) => {
      const dir = await mkdtemp(join(tmpdir(), "shoal-net-unit-"));
      try {
        await writeFile(join(dir, "network.json"), text);
        const { runner, calls } = fakeKernel([], []);
        const err = await NodeNetwork.open({
          stateDir: dir,
          subnet: "10.88.1.0/24",
          runner,
          logger: silentLogger(),
        }).catch((e: unknown) => e);
        expect(ShoalError.is(err, NetworkErrorCode.StateCorrupt)).toBe(true);
        expect(calls).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

describe("NodeNetwork.attach refuses bad port requests before touching anything", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-net-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    [[{ targetPort: 0 }], 'target port 0 for container "c1" is not a whole number from 1 to 65535'],
    [
      [{ targetPort: 80, publishedPort: 70000 }],
      'published port 70000 for container "c1" is not a whole number from 1 to 65535',
    ],
    [[{ targetPort: 80.5 }], 'target port 80.5 for container "c1" is not a whole number from 1 to 65535'],
    [
      [
        { targetPort: 80, publishedPort: 8080 },
        { targetPort: 81, publishedPort: 8080 },
      ],
      'port 8080/tcp for container "c1" is published twice',
    ],
  ])("%j", async (ports, message) => {
    const { runner, calls } = fakeKernel([], []);
    const net = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.1.0/24",
      runner,
      logger: silentLogger(),
    });
    const before = calls.length;
    const err = await net.attach({ containerId: "c1", ports }).catch((e: unknown) => e);
    expect(ShoalError.is(err, NetworkErrorCode.InvalidPort)).toBe(true);
    expect((err as Error).message).toBe(message);
    expect(net.lease("c1")).toBeUndefined();
    // Only the listening-port probe ran: no namespace, link or rule was made.
    expect(calls.slice(before).map((c) => c.cmd)).toEqual(["ss"]);
  });

  it("publishes the same port number once per protocol", async () => {
    const { runner } = fakeKernel([], []);
    const net = await NodeNetwork.open({
      stateDir: dir,
      subnet: "10.88.1.0/24",
      runner,
      logger: silentLogger(),
    });
    const a = await net.attach({
      containerId: "dns",
      ports: [
        { targetPort: 53, publishedPort: 5353, protocol: "tcp" },
        { targetPort: 53, publishedPort: 5353, protocol: "udp" },
      ],
    });
    expect(a.ports.map((p) => `${p.publishedPort}/${p.protocol}`)).toEqual(["5353/tcp", "5353/udp"]);
  });
});

describe("NodeNetwork recovery of attachments nobody uses", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-net-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const open = (runner: CommandRunner, extra: object = {}) =>
    NodeNetwork.open({ stateDir: dir, subnet: "10.88.1.0/24", runner, logger: silentLogger(), ...extra });

  it("undoes an attach whose iptables-restore failed: no lease, namespace, veth or port, and no DNAT on reopen", async () => {
    const kernel = fakeKernel([], []);
    // The injected failure: iptables-restore fails while `broken` (the undo's rewrite fails too).
    let broken = false;
    const failing: CommandRunner = {
      async run(cmd, args, options = {}) {
        if (cmd === "iptables-restore" && broken) {
          kernel.calls.push({ cmd, args: [...args], input: options.input });
          throw new ShoalError(NetworkErrorCode.CommandFailed, "iptables-restore: line 7 failed");
        }
        return kernel.runner.run(cmd, args, options);
      },
    };
    const net = await open(failing);
    broken = true;
    const err = await net
      .attach({ containerId: "bad", ports: [{ targetPort: 80, publishedPort: 8080 }] })
      .catch((e: unknown) => e);
    expect(ShoalError.is(err, NetworkErrorCode.CommandFailed)).toBe(true);
    expect(net.lease("bad")).toBeUndefined();
    const deleted = kernel.calls.filter((c) => c.args[1] === "del").map((c) => c.args.join(" "));
    expect(deleted).toEqual([`link del ${vethOf("bad")}`, "netns del shoal-c-bad"]);
    const saved = JSON.parse(await readFile(join(dir, "network.json"), "utf8")) as NetworkState;
    expect(saved.leases).toEqual({});
    // The port is free again, and a reopen installs no rule for the failed attachment.
    broken = false;
    const good = await net.attach({ containerId: "good", ports: [{ targetPort: 80, publishedPort: 8080 }] });
    expect(good.ports[0]?.publishedPort).toBe(8080);
    await net.close();
    const again = fakeKernel(["shoal-c-good"], [vethOf("good")]);
    const reopened = await open(again.runner);
    const restores = again.calls.filter((c) => c.cmd === "iptables-restore").map((c) => c.input ?? "");
    expect(restores.at(-1)).toContain("--comment good ");
    expect(restores.every((r) => !r.includes("--comment bad "))).toBe(true);
    expect(reopened.leases().map((l) => l.containerId)).toEqual(["good"]);
  });

  it("releases, at open, the leases of containers the runtime does not hold (agent died between attach and create)", async () => {
    const first = fakeKernel([], []);
    const net = await open(first.runner);
    const kept = await net.attach({ containerId: "kept", ports: [{ targetPort: 80, publishedPort: 8080 }] });
    const lost = await net.attach({ containerId: "lost", ports: [{ targetPort: 80, publishedPort: 9090 }] });
    await net.close();
    const veths = Object.fromEntries(net.leases().map((l) => [l.containerId, l.hostVeth]));
    const kernel = fakeKernel(["shoal-c-kept", "shoal-c-lost"], [veths.kept as string, veths.lost as string]);
    const reopened = await open(kernel.runner, { containerIds: ["kept"] });
    expect(reopened.leases().map((l) => l.containerId)).toEqual(["kept"]);
    expect(reopened.lease("kept")?.ip).toBe(kept.ip);
    const deleted = kernel.calls.filter((c) => c.args[1] === "del").map((c) => c.args[2]);
    expect(deleted.sort()).toEqual([veths.lost, "shoal-c-lost"].sort());
    const rules = kernel.calls.filter((c) => c.cmd === "iptables-restore").at(-1)?.input ?? "";
    expect(rules).toContain("--dport 8080");
    expect(rules).not.toContain("--dport 9090");
    // The released port and address are free for the next container.
    const next = await reopened.attach({
      containerId: "next",
      ports: [{ targetPort: 80, publishedPort: 9090 }],
    });
    expect(next.ports[0]?.publishedPort).toBe(9090);
    expect(next.ip).not.toBe(kept.ip);
    expect(lost.containerId).toBe("lost");
  });

  it("does not hand out a just-released address again right after a restart", async () => {
    const net = await open(fakeKernel([], []).runner);
    const a = await net.attach({ containerId: "a" });
    expect(a.ip).toBe("10.88.1.2");
    await net.detach("a");
    await net.close();
    const reopened = await open(fakeKernel([], []).runner);
    const b = await reopened.attach({ containerId: "b" });
    expect(b.ip).toBe("10.88.1.3");
    await expect(net.attach({ containerId: "c" })).rejects.toMatchObject({ code: NetworkErrorCode.Closed });
  });
});

/** The host-side veth name NodeNetwork gives a container with the default prefixes. */
function vethOf(containerId: string): string {
  return `sh${createHash("sha256").update(`shoal-c-/${containerId}`).digest("hex").slice(0, 10)}`;
}
