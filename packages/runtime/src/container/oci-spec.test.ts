import { describe, expect, it } from "vitest";
import { DEFAULT_CAPABILITIES } from "./capabilities.js";
import { buildOciSpec, type OciSpecInput } from "./oci-spec.js";
import { mergeEnv, resolveArgv } from "./process-args.js";
import { normalizeSignal } from "./signals.js";

function input(over: Partial<OciSpecInput> = {}): OciSpecInput {
  return {
    spec: { image: "busybox" },
    image: { cmd: ["sh"], env: ["PATH=/bin", "A=image"], workingDir: "/srv" },
    user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
    rootfsPath: "/c/rootfs",
    hostname: "web-1",
    etcFiles: { hosts: "/c/hosts", hostname: "/c/hostname", resolvConf: "/c/resolv.conf" },
    network: { kind: "none" },
    cgroupsPath: "/shoal/n1/c1",
    volumesDir: "/v",
    annotations: { "com.shoal.task.id": "t1" },
    ...over,
  };
}

describe("resolveArgv", () => {
  const image = { entrypoint: ["/entry"], cmd: ["--serve"] };
  it("runs entrypoint + cmd from the image", () => {
    expect(resolveArgv({}, image)).toEqual(["/entry", "--serve"]);
  });
  it("replaces cmd with args and keeps the entrypoint", () => {
    expect(resolveArgv({ args: ["--once"] }, image)).toEqual(["/entry", "--once"]);
  });
  it("drops the image cmd when command replaces the entrypoint", () => {
    expect(resolveArgv({ command: ["/bin/sh"] }, image)).toEqual(["/bin/sh"]);
    expect(resolveArgv({ command: ["/bin/sh"], args: ["-c", "x"] }, image)).toEqual(["/bin/sh", "-c", "x"]);
  });
  it("fails when nothing is left to run", () => {
    expect(() => resolveArgv({}, {})).toThrowError(/container has no command/);
  });
});

describe("mergeEnv", () => {
  it("applies the spec over the image in place, adds PATH, HOSTNAME and HOME", () => {
    expect(mergeEnv(["A=1", "B=2"], ["B=3", "C=4"], { hostname: "h", home: "/root" })).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOSTNAME=h",
      "A=1",
      "B=3",
      "C=4",
      "HOME=/root",
    ]);
  });
  it("keeps the image PATH and a spec HOME", () => {
    expect(mergeEnv(["PATH=/x"], ["HOME=/h"], { hostname: "h", home: "/root" })).toEqual([
      "HOSTNAME=h",
      "PATH=/x",
      "HOME=/h",
    ]);
  });
});

describe("buildOciSpec", () => {
  it("builds process, root, namespaces and Docker's defaults", () => {
    const s = buildOciSpec(input());
    expect(s.process.args).toEqual(["sh"]);
    expect(s.process.cwd).toBe("/srv");
    expect(s.process.env).toContain("A=image");
    expect(s.process.noNewPrivileges).toBe(true);
    expect(s.process.capabilities.bounding.sort()).toEqual([...DEFAULT_CAPABILITIES].sort());
    expect(s.process.rlimits).toEqual([]);
    expect(s.root).toEqual({ path: "/c/rootfs", readonly: false });
    expect(s.linux.namespaces.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "network"]);
    expect(s.linux.maskedPaths).toContain("/proc/kcore");
    expect(s.linux.readonlyPaths).toContain("/proc/sys");
    expect(s.linux.cgroupsPath).toBe("/shoal/n1/c1");
    expect(s.mounts.map((m) => m.destination)).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/sys",
      "/sys/fs/cgroup",
      "/dev/mqueue",
      "/dev/shm",
      "/etc/hosts",
      "/etc/hostname",
      "/etc/resolv.conf",
    ]);
    expect(s.annotations["com.shoal.task.id"]).toBe("t1");
  });

  it("turns limits into memory (swap equal), CFS quota and pids", () => {
    const s = buildOciSpec(
      input({
        spec: {
          image: "b",
          resources: { limits: { memoryBytes: 64 * 1024 * 1024, nanoCpus: 500_000_000, pids: 100 } },
        },
      }),
    );
    expect(s.linux.resources.memory).toEqual({ limit: 67108864, swap: 67108864 });
    expect(s.linux.resources.cpu).toEqual({ quota: 50000, period: 100000 });
    expect(s.linux.resources.pids).toEqual({ limit: 100 });
  });

  it("rejects a memory limit below the minimum", () => {
    expect(() =>
      buildOciSpec(input({ spec: { image: "b", resources: { limits: { memoryBytes: 1024 } } } })),
    ).toThrowError("memory limit 1024 bytes is below the 6MiB minimum");
  });

  it("maps user, read-only rootfs, caps, ulimits, sysctls", () => {
    const s = buildOciSpec(
      input({
        spec: {
          image: "b",
          readOnly: true,
          capAdd: ["NET_ADMIN"],
          capDrop: ["CHOWN"],
          ulimits: [{ name: "nofile", soft: 100, hard: 200 }],
          sysctls: { "net.ipv4.ip_forward": "1" },
          noNewPrivileges: false,
        },
        user: { uid: 1000, gid: 1000, additionalGids: [29], home: "/home/app" },
      }),
    );
    expect(s.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [29] });
    expect(s.root.readonly).toBe(true);
    expect(s.process.capabilities.effective).toContain("CAP_NET_ADMIN");
    expect(s.process.capabilities.effective).not.toContain("CAP_CHOWN");
    expect(s.process.rlimits).toEqual([{ type: "RLIMIT_NOFILE", soft: 100, hard: 200 }]);
    expect(s.linux.sysctl).toEqual({ "net.ipv4.ip_forward": "1" });
    expect(s.process.noNewPrivileges).toBe(false);
    expect(s.process.env).toContain("HOME=/home/app");
  });

  it("rejects host-wide sysctls and net sysctls on the host network", () => {
    expect(() =>
      buildOciSpec(input({ spec: { image: "b", sysctls: { "vm.swappiness": "1" } } })),
    ).toThrowError(/not namespaced/);
    expect(() =>
      buildOciSpec(
        input({ spec: { image: "b", sysctls: { "net.core.somaxconn": "1" } }, network: { kind: "host" } }),
      ),
    ).toThrowError(/shares the host network/);
  });

  it("shares the host network or joins a given namespace", () => {
    expect(
      buildOciSpec(input({ network: { kind: "host" } })).linux.namespaces.some((n) => n.type === "network"),
    ).toBe(false);
    expect(
      buildOciSpec(input({ network: { kind: "netns", path: "/run/netns/x" } })).linux.namespaces,
    ).toContainEqual({
      type: "network",
      path: "/run/netns/x",
    });
  });

  it("orders user mounts parents first and maps bind, volume and tmpfs", () => {
    const s = buildOciSpec(
      input({
        spec: {
          image: "b",
          mounts: [
            { kind: "tmpfs", target: "/data/tmp", sizeBytes: 1024 },
            { kind: "volume", name: "db", target: "/data" },
            { kind: "bind", source: "/host", target: "/h", readOnly: true },
          ],
        },
      }),
    );
    const user = s.mounts.slice(10);
    expect(user).toEqual([
      { destination: "/data", type: "bind", source: "/v/db", options: ["rbind", "rw", "rprivate"] },
      { destination: "/h", type: "bind", source: "/host", options: ["rbind", "ro", "rprivate"] },
      {
        destination: "/data/tmp",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "nodev", "noexec", "size=1024", "mode=1777"],
      },
    ]);
  });

  it("rejects relative targets and duplicate targets", () => {
    expect(() =>
      buildOciSpec(input({ spec: { image: "b", mounts: [{ kind: "tmpfs", target: "tmp" }] } })),
    ).toThrowError('mount target "tmp" is not an absolute path');
    expect(() =>
      buildOciSpec(
        input({
          spec: {
            image: "b",
            mounts: [
              { kind: "tmpfs", target: "/a" },
              { kind: "tmpfs", target: "/a/" },
            ],
          },
        }),
      ),
    ).toThrowError('mount target "/a" is used twice');
  });
});

describe("normalizeSignal", () => {
  it("accepts names, short names and numbers", () => {
    expect(normalizeSignal("term")).toBe("SIGTERM");
    expect(normalizeSignal("SIGQUIT")).toBe("SIGQUIT");
    expect(normalizeSignal("9")).toBe("SIGKILL");
    expect(() => normalizeSignal("SIGNOPE")).toThrowError('signal "SIGNOPE" is not known');
  });
});
