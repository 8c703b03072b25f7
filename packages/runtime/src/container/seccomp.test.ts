import { execFileSync } from "node:child_process";
import { chmod, copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ignoring } from "../ignore.js";
import { DEFAULT_CAPABILITIES } from "./capabilities.js";
import { parseSeccompProfile, resolveSeccomp } from "./seccomp.js";
import { DEFAULT_SECCOMP_PROFILE } from "./seccomp-default.js";
import { makeSandbox, type Sandbox } from "./test-support.js";
import type { ContainerSpec } from "./types.js";

const allowed = (caps: readonly string[]) =>
  new Set(
    resolveSeccomp(DEFAULT_SECCOMP_PROFILE, { capabilities: caps, arch: "x64" })
      .syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW" && r.args === undefined)
      .flatMap((r) => r.names),
  );

describe("default seccomp profile", () => {
  it("refuses by default with EPERM, for the native architecture only", () => {
    const oci = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, { capabilities: DEFAULT_CAPABILITIES, arch: "x64" });
    expect(oci.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(oci.defaultErrnoRet).toBe(1);
    expect(oci.architectures).toEqual(["SCMP_ARCH_X86_64"]);
    expect(
      resolveSeccomp(DEFAULT_SECCOMP_PROFILE, { capabilities: [], arch: "arm64" }).architectures,
    ).toEqual(["SCMP_ARCH_AARCH64"]);
    // A Docker-format file's archMap brings the compat architectures along.
    const file = parseSeccompProfile(
      JSON.stringify({
        defaultAction: "SCMP_ACT_ERRNO",
        archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
        syscalls: [],
      }),
      "/p.json",
    );
    expect(resolveSeccomp(file, { capabilities: [], arch: "x64" }).architectures).toEqual([
      "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X86",
      "SCMP_ARCH_X32",
    ]);
  });

  it("leaves out keyrings, io_uring, perf, kcmp and namespace calls unless a capability opens them", () => {
    const plain = allowed(DEFAULT_CAPABILITIES);
    for (const name of [
      "keyctl",
      "add_key",
      "request_key",
      "io_uring_setup",
      "perf_event_open",
      "kcmp",
      "unshare",
      "setns",
      "mount",
      "bpf",
      "personality",
    ])
      expect(plain.has(name), name).toBe(false);
    expect(plain.has("read") && plain.has("arch_prctl") && plain.has("chroot")).toBe(true);
    const admin = allowed([...DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]);
    for (const name of ["unshare", "mount", "setns", "kcmp", "clone", "clone3"])
      expect(admin.has(name), name).toBe(true);
    // Without SYS_ADMIN, clone is allowed only without namespace flags and clone3 is ENOSYS.
    const rules = resolveSeccomp(DEFAULT_SECCOMP_PROFILE, {
      capabilities: DEFAULT_CAPABILITIES,
      arch: "x64",
    });
    expect(rules.syscalls.find((r) => r.names.includes("clone"))?.args).toEqual([
      { index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" },
    ]);
    expect(rules.syscalls.find((r) => r.names.includes("clone3"))).toMatchObject({ errnoRet: 38 });
    expect(
      rules.syscalls.filter((r) => r.names.includes("personality")).map((r) => r.args?.[0]?.value),
    ).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
  });

  it("checks a profile file and names it in every complaint", () => {
    expect(() => parseSeccompProfile("{", "/p.json")).toThrowError(/seccomp profile "\/p.json" is not JSON/);
    expect(() => parseSeccompProfile('{"defaultAction":"SCMP_ACT_NOPE"}', "/p.json")).toThrowError(
      'seccomp profile "/p.json" has an unknown action "SCMP_ACT_NOPE" at defaultAction',
    );
    expect(() =>
      parseSeccompProfile(
        '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"LT"}]}]}',
        "/p.json",
      ),
    ).toThrowError('seccomp profile "/p.json" has an unknown operator "LT" at syscalls[0].args[0]');
    const p = parseSeccompProfile(
      '{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"name":"keyctl","action":"SCMP_ACT_ERRNO","args":null}]}',
      "/p.json",
    );
    expect(resolveSeccomp(p, { capabilities: [], arch: "x64" })).toEqual({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [{ names: ["keyctl"], action: "SCMP_ACT_ERRNO" }],
    });
  });
});

const PROBED = [
  "keyctl",
  "add_key",
  "perf_event_open",
  "io_uring_setup",
  "personality",
  "kcmp",
  "unshare",
  "mount",
];

describe("seccomp in a real container", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
    const src = fileURLToPath(new URL("./testdata/seccomp-probe.c", import.meta.url));
    const bin = join(sb.dir, "probe");
    try {
      execFileSync("gcc", ["-static", "-O1", "-o", bin, src], { stdio: "pipe" });
    } catch (err) {
      throw new Error(
        `the seccomp probe needs gcc and libc6-dev (deploy/install-deps.sh installs them): ${String(err)}`,
      );
    }
    await copyFile(bin, join(sb.rootfs, "bin/probe"));
    await chmod(join(sb.rootfs, "bin/probe"), 0o755);
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  async function probe(extra: Partial<ContainerSpec>): Promise<Record<string, string>> {
    const rt = sb.runtime();
    const c = await rt.create({
      spec: { image: "busybox", command: ["/bin/probe"], ...extra },
      owner: { taskId: "t", serviceId: "s" },
    });
    await rt.start(c.id);
    expect((await rt.wait(c.id)).exitCode).toBe(0);
    const out: Record<string, string> = {};
    for await (const e of rt.logs(c.id)) {
      const [name, ...rest] = e.log.split(" ");
      if (name !== undefined) out[name] = rest.join(" ");
    }
    await rt.remove(c.id);
    return out;
  }

  it("refuses each hostile call with EPERM under the default profile", async () => {
    const r = await probe({});
    expect(r.seccomp).toBe("2");
    for (const name of PROBED) expect(`${name} ${r[name]}`).toBe(`${name} errno 1`);
  });

  it("lets each of them through when unconfined", async () => {
    const r = await probe({ seccompProfile: "unconfined" });
    expect(r.seccomp).toBe("0");
    // Without a filter only the kernel's own settings may refuse (a container's root has no
    // CAP_PERFMON or CAP_SYS_ADMIN): perf_event_paranoid 3 (Debian) and io_uring_disabled.
    const sysctl = async (name: string) =>
      Number((await ignoring(readFile(`/proc/sys/kernel/${name}`, "utf8"), ["ENOENT"], "0")).trim());
    const expected: Record<string, string> = Object.fromEntries(PROBED.map((n) => [n, "ok"]));
    if ((await sysctl("perf_event_paranoid")) >= 3) expected.perf_event_open = "errno 13";
    if ((await sysctl("io_uring_disabled")) >= 1) expected.io_uring_setup = "errno 1";
    for (const name of PROBED) expect(`${name} ${r[name]}`).toBe(`${name} ${expected[name]}`);
  });

  it("applies a profile file, and refuses a bad one with its name before anything is made", async () => {
    const file = join(sb.dir, "only-keyctl-denied.json");
    await writeFile(
      file,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["keyctl"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
      }),
    );
    const r = await probe({ seccompProfile: file });
    expect(r.seccomp).toBe("2");
    expect(r.keyctl).toBe("errno 13");
    expect(r.add_key).toBe("ok");

    const broken = join(sb.dir, "broken.json");
    await writeFile(broken, '{"defaultAction": 3}');
    const rt = sb.runtime();
    for (const [path, why] of [
      [broken, 'seccomp profile "BROKEN" has an unknown action "3" at defaultAction'],
      [join(sb.dir, "missing.json"), 'seccomp profile "MISSING" cannot be read: ENOENT'],
    ] as const) {
      const err = await rt
        .create({ spec: { image: "busybox", seccompProfile: path }, owner: { taskId: "t", serviceId: "s" } })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toMatchObject({
        code: "CONTAINER_SECCOMP_PROFILE_INVALID",
        message: why.replace("BROKEN", broken).replace("MISSING", join(sb.dir, "missing.json")),
      });
    }
    expect(await rt.list()).toEqual([]);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
    expect(await readFile(file, "utf8")).toContain("keyctl");
  });
});
