import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DirImageSource, makeBusyboxRootfs, makeSandbox, type Sandbox } from "./test-support.js";
import type { ContainerSpec, LogEntry, NetworkAttachment } from "./types.js";

const owner = { taskId: "t", serviceId: "s" };

describe("mounts, rootfs, network seam, exec and stats", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  async function runToEnd(
    spec: ContainerSpec,
    network?: NetworkAttachment,
  ): Promise<{ exitCode: number; lines: string[] }> {
    const rt = await sb.open();
    const c = await rt.create({ spec, owner, ...(network !== undefined ? { network } : {}) });
    await rt.start(c.id);
    const { exitCode } = await rt.wait(c.id);
    const lines: string[] = [];
    for await (const e of rt.logs(c.id) as AsyncIterable<LogEntry>) lines.push(e.log);
    await rt.remove(c.id);
    return { exitCode, lines };
  }

  it("keeps a read-only rootfs read-only while tmpfs, binds and named volumes are writable", async () => {
    const hostDir = join(sb.dir, "bind-src");
    await mkdir(hostDir);
    await writeFile(join(hostDir, "in.txt"), "from host\n");
    const script = [
      "touch /blocked 2>/dev/null && echo rootfs-writable || echo rootfs-readonly",
      "touch /scratch/x && echo tmpfs-ok",
      "cat /host/in.txt",
      "touch /host/x 2>/dev/null && echo bind-writable || echo bind-readonly",
      "echo persisted > /vol/data && echo volume-ok",
      "cat /etc/hostname",
      "grep -c ro-host /etc/hosts",
    ].join("; ");
    const first = await runToEnd({
      image: "busybox",
      command: ["/bin/sh", "-c", script],
      readOnly: true,
      hostname: "ro-host",
      mounts: [
        { kind: "tmpfs", target: "/scratch", sizeBytes: 1024 * 1024 },
        { kind: "bind", source: hostDir, target: "/host", readOnly: true },
        { kind: "volume", name: "shared", target: "/vol" },
      ],
    });
    expect(first.lines).toEqual([
      "rootfs-readonly",
      "tmpfs-ok",
      "from host",
      "bind-readonly",
      "volume-ok",
      "ro-host",
      "1",
    ]);
    // The named volume outlives the container and is seen by the next one.
    const second = await runToEnd({
      image: "busybox",
      command: ["/bin/cat", "/vol/data"],
      mounts: [{ kind: "volume", name: "shared", target: "/vol" }],
    });
    expect(second.lines).toEqual(["persisted"]);
    expect(await readFile(join(sb.dir, "rt", "volumes", "shared", "data"), "utf8")).toBe("persisted\n");
  });

  it("gives network none only loopback and network host the node's interfaces", async () => {
    const ifaces = ["/bin/sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"];
    const none = await runToEnd({ image: "busybox", command: ifaces }, { kind: "none" });
    expect(none.lines).toEqual(["lo"]);
    const host = await runToEnd({ image: "busybox", command: ifaces }, { kind: "host" });
    const nodeIfaces = (await readFile("/proc/net/dev", "utf8"))
      .split("\n")
      .slice(2)
      .map((l) => l.split(":")[0]?.trim())
      .filter((n) => n !== undefined && n !== "");
    expect(host.lines.sort()).toEqual(nodeIfaces.sort());
  });

  it("joins a network namespace handed over by the network side, with its hosts and DNS", async () => {
    const name = `shoal-ct-${process.pid}-${sb.dir.slice(-6).replace(/[^a-zA-Z0-9]/g, "x")}`;
    execFileSync("ip", ["netns", "add", name]);
    try {
      // A link only this namespace has proves the container is in it.
      execFileSync("ip", [
        "-n",
        name,
        "link",
        "add",
        "shoalmark0",
        "type",
        "veth",
        "peer",
        "name",
        "shoalmark1",
      ]);
      const r = await runToEnd(
        {
          image: "busybox",
          command: [
            "/bin/sh",
            "-c",
            "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort; grep web /etc/hosts; cat /etc/resolv.conf",
          ],
          hostname: "web",
        },
        {
          kind: "netns",
          path: `/run/netns/${name}`,
          ip: "10.99.0.7",
          extraHosts: ["db:10.99.0.9"],
          dns: { nameservers: ["10.99.0.1"], search: ["svc"] },
        },
      );
      expect(r.lines).toEqual([
        "lo",
        "shoalmark0",
        "shoalmark1",
        "10.99.0.7\tweb",
        "nameserver 10.99.0.1",
        "search svc",
      ]);
    } finally {
      execFileSync("ip", ["netns", "delete", name]);
    }
  });

  it("drops capabilities and masks kernel paths", async () => {
    const r = await runToEnd({
      image: "busybox",
      command: [
        "/bin/sh",
        "-c",
        "grep CapEff /proc/self/status; cat /proc/timer_list | wc -c; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null || echo sys-readonly",
      ],
      capDrop: ["ALL"],
      capAdd: ["KILL"],
    });
    // CAP_KILL is bit 5.
    expect(r.lines[0]).toBe("CapEff:\t0000000000000020");
    expect(r.lines[1]).toBe("0");
    expect(r.lines[2]).toBe("sys-readonly");
  });

  it("execs in a running container as its user and reports CPU and memory usage", async () => {
    const rt = await sb.open();
    const c = await rt.create({
      spec: {
        image: "busybox",
        command: ["/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 60"],
        user: "tester",
        dir: "/tmp",
        env: ["X=1"],
      },
      owner,
    });
    await rt.start(c.id);
    // conmon left the daemon's cgroup for the node's monitor cgroup (systemd would kill it otherwise).
    const conmonPid = (await readFile(join(sb.dir, "rt", "containers", c.id, "conmon.pid"), "utf8")).trim();
    const cg = await readFile(`/proc/${conmonPid}/cgroup`, "utf8");
    expect(cg).toContain(`name=systemd:${sb.cgroupParent}/conmon\n`);
    expect(cg).toContain(`0::${sb.cgroupParent}/conmon\n`);
    const r = await rt.exec(c.id, ["/bin/sh", "-c", "echo $(id -u) $(pwd) $X"]);
    expect(r).toEqual({ exitCode: 0, output: "1000 /tmp 1\n" });
    // A timed-out exec is killed inside the container, not only its runc.
    const slow = await rt.exec(c.id, ["/bin/sleep", "37"], { timeoutMs: 300 });
    expect(slow.exitCode).toBe(-1);
    await new Promise((res) => setTimeout(res, 100));
    expect((await rt.exec(c.id, ["/bin/sh", "-c", "ps | grep -c 'sleep 3[7]' || true"])).output.trim()).toBe(
      "0",
    );
    await new Promise((res) => setTimeout(res, 300));
    const s = await rt.stats(c.id);
    expect(s.cpuUsageNs).toBeGreaterThan(0);
    expect(s.memoryUsageBytes).toBeGreaterThan(0);
    expect(s.memoryLimitBytes).toBeUndefined();
    await rt.kill(c.id, "KILL");
    expect((await rt.wait(c.id)).exitCode).toBe(137);
    await expect(rt.exec(c.id, ["/bin/true"])).rejects.toThrowError(/is not running/);
    await rt.remove(c.id);
    await expect(rt.inspect(c.id)).rejects.toThrowError(`container "${c.id}" not found`);
  });

  it("mounts an image with many layers (relative lowerdirs keep the mount options within a page)", async () => {
    const layersDir = join(sb.dir, "store-layers");
    const layerDirs: string[] = [];
    for (let i = 0; i < 55; i++) {
      const d = join(layersDir, createHash("sha256").update(String(i)).digest("hex"));
      if (i === 0) await makeBusyboxRootfs(d);
      await mkdir(join(d, "layers"), { recursive: true });
      await writeFile(join(d, "layers", String(i)), `${i}\n`);
      layerDirs.push(d);
    }
    const images = new DirImageSource(sb.rootfs);
    images.acquire = async (ref: string, holderId: string) => ({
      ...(await new DirImageSource(sb.rootfs).acquire(ref, holderId)),
      layerDirs,
    });
    const rt = await sb.open({ images });
    const c = await rt.create({
      spec: { image: "many", command: ["/bin/sh", "-c", "ls /layers | wc -l"] },
      owner,
    });
    await rt.start(c.id);
    expect((await rt.wait(c.id)).exitCode).toBe(0);
    const lines: string[] = [];
    for await (const e of rt.logs(c.id)) lines.push(e.log.trim());
    expect(lines).toEqual(["55"]);
    await rt.remove(c.id);
  });
});
