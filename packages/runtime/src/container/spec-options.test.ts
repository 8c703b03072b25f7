import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mountPointsUnder } from "./mounts.js";
import { makeSandbox, type Sandbox } from "./test-support.js";
import type { ContainerFile, ContainerSpec, LogEntry } from "./types.js";

const owner = { taskId: "t", serviceId: "s" };

// What a task's spec asks beyond the defaults, each checked from inside a real runc container.
describe("init, ulimits, sysctls, no-new-privileges and secret/config files", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  async function runToEnd(
    spec: ContainerSpec,
    files?: ContainerFile[],
  ): Promise<{ exitCode: number; lines: string[] }> {
    const rt = await sb.open();
    const c = await rt.create({ spec, owner, ...(files !== undefined ? { files } : {}) });
    await rt.start(c.id);
    const { exitCode } = await rt.wait(c.id);
    const lines: string[] = [];
    for await (const e of rt.logs(c.id) as AsyncIterable<LogEntry>) lines.push(e.log);
    await rt.remove(c.id);
    return { exitCode, lines };
  }

  it("runs tini as PID 1 with init: true, the command as its child, and keeps the exit code", async () => {
    const script = "tr '\\0' ' ' < /proc/1/cmdline; echo; echo self=$$; exit 7";
    const r = await runToEnd({ image: "busybox", command: ["/bin/sh", "-c", script], init: true });
    expect(r.lines[0]?.trim()).toBe(`/sbin/shoal-init -- /bin/sh -c ${script}`);
    expect(r.lines[1]).not.toBe("self=1");
    expect(r.exitCode).toBe(7);
    const plain = await runToEnd({ image: "busybox", command: ["/bin/sh", "-c", "echo self=$$"] });
    expect(plain.lines).toEqual(["self=1"]);
  });

  it("applies ulimits and namespaced sysctls", async () => {
    const r = await runToEnd({
      image: "busybox",
      command: [
        "/bin/sh",
        "-c",
        "ulimit -n; ulimit -Hn; cat /proc/sys/kernel/shmmni; cat /proc/sys/net/ipv4/ip_unprivileged_port_start",
      ],
      ulimits: [{ name: "nofile", soft: 321, hard: 654 }],
      sysctls: { "kernel.shmmni": "1234", "net.ipv4.ip_unprivileged_port_start": "80" },
    });
    expect(r.lines).toEqual(["321", "654", "1234", "80"]);
  });

  it("sets NoNewPrivs by default and leaves it off when the spec says so", async () => {
    const on = await runToEnd({
      image: "busybox",
      command: ["/bin/grep", "NoNewPrivs", "/proc/self/status"],
    });
    expect(on.lines).toEqual(["NoNewPrivs:\t1"]);
    const off = await runToEnd({
      image: "busybox",
      command: ["/bin/grep", "NoNewPrivs", "/proc/self/status"],
      noNewPrivileges: false,
    });
    expect(off.lines).toEqual(["NoNewPrivs:\t0"]);
  });

  it("mounts secret and config files read-only with their owner and mode, from a tmpfs gone after remove", async () => {
    const rt = await sb.open();
    const files: ContainerFile[] = [
      {
        target: "/run/secrets/db_password",
        data: Buffer.from("s3cret\n"),
        uid: 1000,
        gid: 1000,
        mode: 0o400,
      },
      { target: "/etc/app/app.conf", data: Buffer.from("port=80\n"), uid: 0, gid: 0, mode: 0o444 },
    ];
    const script = [
      "stat -c '%u %g %a' /run/secrets/db_password /etc/app/app.conf",
      "cat /run/secrets/db_password /etc/app/app.conf",
      "(echo x > /etc/app/app.conf) 2>/dev/null || echo config-readonly",
      "grep -c ' /run/secrets/db_password ' /proc/self/mountinfo",
    ].join("; ");
    const c = await rt.create({
      spec: { image: "busybox", command: ["/bin/sh", "-c", script], readOnly: true },
      owner,
      files,
    });
    const dir = join(sb.dir, "rt", "containers", c.id);
    // The bytes live on a tmpfs of the container's own, not on the data dir's disk.
    expect(await mountPointsUnder(join(dir, "files"))).toEqual([join(dir, "files")]);
    const line = (await readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .find((l) => l.split(" ")[4] === join(dir, "files"));
    expect(line).toMatch(/ - tmpfs /);
    await rt.start(c.id);
    expect((await rt.wait(c.id)).exitCode).toBe(0);
    const lines: string[] = [];
    for await (const e of rt.logs(c.id) as AsyncIterable<LogEntry>) lines.push(e.log);
    expect(lines).toEqual(["1000 1000 400", "0 0 444", "s3cret", "port=80", "config-readonly", "1"]);
    // Never in the record.
    const record = await readFile(join(dir, "state.json"), "utf8");
    expect(record).not.toContain("s3cret");
    expect(record).not.toContain(Buffer.from("s3cret\n").toString("base64"));
    await rt.remove(c.id);
    expect(await mountPointsUnder(dir)).toEqual([]);
    expect((await readdir(join(sb.dir, "rt", "containers"))).includes(c.id)).toBe(false);
  });
});
