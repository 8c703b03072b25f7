import { ShoalError } from "@shoal/base";
import { Task } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { AgentErrorCode } from "../errors.js";
import { parseSecurityOpt } from "./security-opt.js";
import { toContainerSpec } from "./to-container-spec.js";

describe("parseSecurityOpt", () => {
  it("reads seccomp and no-new-privileges in Docker's spellings, the last one winning", () => {
    expect(parseSecurityOpt([])).toEqual({ ignored: [] });
    expect(parseSecurityOpt(["seccomp=unconfined", "no-new-privileges"])).toEqual({
      seccompProfile: "unconfined",
      noNewPrivileges: true,
      ignored: [],
    });
    expect(parseSecurityOpt(["seccomp:/etc/shoal/p.json", "no-new-privileges=false"])).toEqual({
      seccompProfile: "/etc/shoal/p.json",
      noNewPrivileges: false,
      ignored: [],
    });
    expect(parseSecurityOpt(["seccomp=unconfined", "seccomp=default"])).toEqual({ ignored: [] });
  });

  it("accepts AppArmor and SELinux entries with a note that they are not applied", () => {
    const r = parseSecurityOpt(["apparmor=docker-default", "label=disable"]);
    expect(r.ignored).toEqual([
      'security_opt[0] "apparmor=docker-default": ignored, nodes run no AppArmor profiles for containers',
      'security_opt[1] "label=disable": ignored, nodes run no SELinux labels for containers',
    ]);
  });

  it("refuses what it cannot apply, naming the entry", () => {
    for (const [entry, index] of [
      ["seccomp=profile.json", 1],
      ["seccomp=", 1],
      ["no-new-privileges=maybe", 1],
      ["systempaths=unconfined", 1],
    ] as const) {
      let err: unknown;
      try {
        parseSecurityOpt(["no-new-privileges", entry]);
      } catch (e) {
        err = e;
      }
      expect(ShoalError.is(err, AgentErrorCode.InvalidTask)).toBe(true);
      expect((err as Error).message).toBe(`security_opt[${index}] "${entry}" cannot be applied`);
    }
  });
});

describe("toContainerSpec", () => {
  it("maps capabilities, read-only rootfs, init, sysctls, ulimits and security options", () => {
    const spec = toContainerSpec(
      Task.fromPartial({
        id: "t1",
        spec: {
          container: {
            image: "busybox",
            readOnly: true,
            init: true,
            capAdd: ["NET_ADMIN"],
            capDrop: ["ALL"],
            sysctls: { "net.core.somaxconn": "512" },
            ulimits: [{ name: "nofile", soft: 100, hard: 200 }],
            securityOpt: ["seccomp=unconfined", "no-new-privileges=false", "apparmor=unconfined"],
          },
        },
      }),
    );
    expect(spec).toMatchObject({
      image: "busybox",
      readOnly: true,
      init: true,
      capAdd: ["NET_ADMIN"],
      capDrop: ["ALL"],
      sysctls: { "net.core.somaxconn": "512" },
      ulimits: [{ name: "nofile", soft: 100, hard: 200 }],
      seccompProfile: "unconfined",
      noNewPrivileges: false,
    });
    // Unset stays unset: the runtime's defaults (no init, default seccomp, no-new-privileges on).
    const plain = toContainerSpec(Task.fromPartial({ id: "t2", spec: { container: { image: "busybox" } } }));
    expect(plain.init).toBeUndefined();
    expect(plain.seccompProfile).toBeUndefined();
    expect(plain.noNewPrivileges).toBeUndefined();
  });
});
