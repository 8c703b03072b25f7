import {
  MountType,
  PortProtocol,
  PublishMode,
  RestartCondition,
  type ServiceSpec,
  UpdateFailureAction,
  UpdateOrder,
} from "@shoal/proto";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import {
  addServiceFlags,
  assertValidFlags,
  nameFromImage,
  type ServiceFlags,
  specFromCreateFlags,
  specFromUpdateFlags,
} from "./service-flags.js";

/** Parses argv with the real option definitions, so the tests cover commander's camel-casing too. */
function flags(mode: "create" | "update", argv: string[]): { opts: ServiceFlags; args: string[] } {
  const cmd = addServiceFlags(new Command("x").exitOverride().argument("[args...]"), mode);
  cmd.parse(argv, { from: "user" });
  return { opts: cmd.opts(), args: cmd.args };
}

function create(...argv: string[]): ServiceSpec {
  const { opts, args } = flags("create", argv);
  return specFromCreateFlags(args[0] as string, args.slice(1), opts);
}

function update(current: ServiceSpec, ...argv: string[]): ServiceSpec {
  return specFromUpdateFlags(current, flags("update", argv).opts);
}

describe("service create flags → ServiceSpec", () => {
  const cases: [string, string[], (s: ServiceSpec) => unknown, unknown][] = [
    [
      "image and args (after --)",
      ["nginx:1.27", "--", "nginx", "-g", "daemon off;"],
      (s) => [s.name, s.taskTemplate?.container?.image, s.taskTemplate?.container?.args],
      ["nginx", "nginx:1.27", ["nginx", "-g", "daemon off;"]],
    ],
    ["--name", ["--name", "web", "nginx"], (s) => s.name, "web"],
    [
      "--replicas",
      ["--replicas", "3", "nginx"],
      (s) => s.mode,
      { $case: "replicated", value: { replicas: 3 } },
    ],
    ["--mode global", ["--mode", "global", "nginx"], (s) => s.mode, { $case: "global", value: {} }],
    [
      "--mode replicated-job",
      ["--mode", "replicated-job", "--replicas", "4", "--max-concurrent", "2", "busybox"],
      (s) => s.mode,
      { $case: "replicatedJob", value: { totalCompletions: 4, maxConcurrent: 2 } },
    ],
    ["--mode global-job", ["--mode", "global-job", "busybox"], (s) => s.mode?.$case, "globalJob"],
    [
      "--constraint (repeated)",
      ["--constraint", "node.role==worker", "--constraint", "node.labels.az==a", "nginx"],
      (s) => s.taskTemplate?.placement?.constraints,
      ["node.role==worker", "node.labels.az==a"],
    ],
    [
      "--placement-pref",
      ["--placement-pref", "spread=node.labels.zone", "nginx"],
      (s) => s.taskTemplate?.placement?.preferences,
      [{ preference: { $case: "spread", value: { spreadDescriptor: "node.labels.zone" } } }],
    ],
    [
      "--reserve-cpu/--reserve-memory",
      ["--reserve-cpu", "0.5", "--reserve-memory", "64M", "nginx"],
      (s) => s.taskTemplate?.resources?.reservations,
      { nanoCpus: 500_000_000, memoryBytes: 64 * 1024 * 1024, pids: 0, generic: [] },
    ],
    [
      "--limit-cpu/--limit-memory/--limit-pids",
      ["--limit-cpu", "2", "--limit-memory", "1G", "--limit-pids", "100", "nginx"],
      (s) => s.taskTemplate?.resources?.limits,
      { nanoCpus: 2e9, memoryBytes: 1024 ** 3, pids: 100, generic: [] },
    ],
    [
      "--publish short",
      ["-p", "8080:80", "-p", "53:53/udp", "nginx"],
      (s) => s.endpointSpec?.ports,
      [
        {
          name: "",
          protocol: PortProtocol.TCP,
          targetPort: 80,
          publishedPort: 8080,
          publishMode: PublishMode.INGRESS,
        },
        {
          name: "",
          protocol: PortProtocol.UDP,
          targetPort: 53,
          publishedPort: 53,
          publishMode: PublishMode.INGRESS,
        },
      ],
    ],
    [
      "--publish long",
      ["--publish", "published=8080,target=80,mode=host", "nginx"],
      (s) => s.endpointSpec?.ports?.[0]?.publishMode,
      PublishMode.HOST,
    ],
    [
      "--env",
      ["-e", "A=1", "--env", "B=2", "--env", "A=3", "nginx"],
      (s) => s.taskTemplate?.container?.env,
      ["A=3", "B=2"],
    ],
    [
      "--label/--container-label",
      ["-l", "tier=web", "--container-label", "c=1", "nginx"],
      (s) => [s.labels, s.taskTemplate?.container?.labels],
      [{ tier: "web" }, { c: "1" }],
    ],
    [
      "--mount bind",
      ["--mount", "type=bind,source=/srv,target=/data,readonly", "nginx"],
      (s) => s.taskTemplate?.container?.mounts,
      [{ type: MountType.BIND, source: "/srv", target: "/data", readOnly: true }],
    ],
    [
      "--mount tmpfs",
      ["--mount", "type=tmpfs,target=/tmp,tmpfs-size=64M,tmpfs-mode=1777", "nginx"],
      (s) => s.taskTemplate?.container?.mounts?.[0]?.tmpfsOptions,
      { sizeBytes: 64 * 1024 * 1024, mode: 0o1777, options: [] },
    ],
    [
      "--restart-*",
      [
        "--restart-condition",
        "on-failure",
        "--restart-delay",
        "2s",
        "--restart-max-attempts",
        "3",
        "--restart-window",
        "1m",
        "nginx",
      ],
      (s) => s.taskTemplate?.restartPolicy,
      { condition: RestartCondition.ON_FAILURE, delayMs: 2000, maxAttempts: 3, windowMs: 60_000 },
    ],
    [
      "--update-*",
      [
        "--update-parallelism",
        "2",
        "--update-delay",
        "10s",
        "--update-order",
        "start-first",
        "--update-failure-action",
        "rollback",
        "--update-monitor",
        "30s",
        "--update-max-failure-ratio",
        "0.2",
        "nginx",
      ],
      (s) => s.updateConfig,
      {
        parallelism: 2,
        delayMs: 10_000,
        order: UpdateOrder.START_FIRST,
        failureAction: UpdateFailureAction.ROLLBACK,
        monitorMs: 30_000,
        maxFailureRatio: 0.2,
      },
    ],
    [
      "--rollback-*",
      ["--rollback-parallelism", "0", "--rollback-order", "stop-first", "nginx"],
      (s) => [s.rollbackConfig?.parallelism, s.rollbackConfig?.order],
      [0, UpdateOrder.STOP_FIRST],
    ],
    [
      "--hostname/--user/--workdir",
      ["--hostname", "{{.Task.Slot}}", "-u", "1000:1000", "-w", "/app", "nginx"],
      (s) => [
        s.taskTemplate?.container?.hostname,
        s.taskTemplate?.container?.user,
        s.taskTemplate?.container?.dir,
      ],
      ["{{.Task.Slot}}", "1000:1000", "/app"],
    ],
    [
      "--secret short and long",
      ["--secret", "db", "--secret", "source=key,target=k.pem,mode=0400,uid=10", "nginx"],
      (s) => s.taskTemplate?.container?.secrets,
      [
        { secretId: "", secretName: "db", file: { name: "db", uid: "0", gid: "0", mode: 0o444 } },
        { secretId: "", secretName: "key", file: { name: "k.pem", uid: "10", gid: "0", mode: 0o400 } },
      ],
    ],
    [
      "--config",
      ["--config", "source=nginx.conf,target=/etc/nginx/nginx.conf", "nginx"],
      (s) => s.taskTemplate?.container?.configs?.[0]?.file?.name,
      "/etc/nginx/nginx.conf",
    ],
    [
      "--network",
      ["--network", "front", "nginx"],
      (s) => s.taskTemplate?.networks,
      [{ target: "front", aliases: [], driverOpts: {} }],
    ],
    [
      "--health-*",
      ["--health-cmd", "wget -q -O- localhost", "--health-interval", "5s", "--health-retries", "2", "nginx"],
      (s) => s.taskTemplate?.container?.healthcheck,
      { test: ["CMD-SHELL", "wget -q -O- localhost"], intervalMs: 5000, retries: 2 },
    ],
    [
      "--no-healthcheck",
      ["--no-healthcheck", "nginx"],
      (s) => s.taskTemplate?.container?.healthcheck,
      { test: ["NONE"] },
    ],
    [
      "--cap-add/--cap-drop",
      ["--cap-add", "net_admin", "--cap-drop", "ALL", "nginx"],
      (s) => [s.taskTemplate?.container?.capAdd, s.taskTemplate?.container?.capDrop],
      [["NET_ADMIN"], ["ALL"]],
    ],
    [
      "--read-only/--init/--tty",
      ["--read-only", "--init", "-t", "nginx"],
      (s) => [
        s.taskTemplate?.container?.readOnly,
        s.taskTemplate?.container?.init,
        s.taskTemplate?.container?.tty,
      ],
      [true, true, true],
    ],
    [
      "--sysctl/--ulimit",
      ["--sysctl", "net.core.somaxconn=1024", "--ulimit", "nofile=1024:2048", "nginx"],
      (s) => [s.taskTemplate?.container?.sysctls, s.taskTemplate?.container?.ulimits],
      [{ "net.core.somaxconn": "1024" }, [{ name: "nofile", soft: 1024, hard: 2048 }]],
    ],
    [
      "--stop-signal/--stop-grace-period",
      ["--stop-signal", "SIGINT", "--stop-grace-period", "30s", "nginx"],
      (s) => [s.taskTemplate?.container?.stopSignal, s.taskTemplate?.container?.stopGracePeriodMs],
      ["SIGINT", 30_000],
    ],
    [
      "--add-host/--dns",
      ["--add-host", "db:10.0.0.5", "--dns", "1.1.1.1", "nginx"],
      (s) => [s.taskTemplate?.container?.hosts, s.taskTemplate?.container?.dnsConfig?.nameservers],
      [["10.0.0.5 db"], ["1.1.1.1"]],
    ],
    [
      "--entrypoint",
      ["--entrypoint", "/bin/sh -c", "busybox", "echo hi"],
      (s) => [s.taskTemplate?.container?.command, s.taskTemplate?.container?.args],
      [["/bin/sh", "-c"], ["echo hi"]],
    ],
  ];
  for (const [name, argv, pick, expected] of cases) {
    it(name, () => {
      const spec = create(...argv);
      expect(pick(spec)).toEqual(expected);
      expect(() => assertValidFlags(spec)).not.toThrow();
    });
  }

  const errors: [string[], string][] = [
    [["--replicas", "three", "nginx"], '--replicas "three": must be a whole number, 0 or more'],
    [["--mode", "global", "--replicas", "2", "nginx"], "--replicas: a global service has no replica count"],
    [
      ["--reserve-cpu", "lots", "nginx"],
      '--reserve-cpu "lots": not a number of CPUs (write it like 0.5 or 2)',
    ],
    [
      ["--limit-memory", "12 parsecs", "nginx"],
      '--limit-memory "12 parsecs": not a size (write it like 512M, 1G, 128MiB)',
    ],
    [
      ["--publish", "http", "nginx"],
      '--publish "http": not a port (write it like 8080:80, 8080:80/udp or 80)',
    ],
    [["--publish", "published=80", "nginx"], '--publish "published=80": target= is required'],
    [
      ["--mount", "type=nfs,target=/x", "nginx"],
      '--mount "type=nfs,target=/x": type must be bind, volume or tmpfs, got "nfs"',
    ],
    [
      ["--mount", "type=bind,target=/x", "nginx"],
      '--mount "type=bind,target=/x": a bind mount needs source=',
    ],
    [
      ["--restart-condition", "always", "nginx"],
      '--restart-condition "always": must be one of none, on-failure, any',
    ],
    [
      ["--update-delay", "soon", "nginx"],
      '--update-delay "soon": not a duration (write it like 10s, 1m30s, 500ms)',
    ],
    [
      ["--update-max-failure-ratio", "2", "nginx"],
      '--update-max-failure-ratio "2": must be a number from 0 to 1',
    ],
    [
      ["--rollback-failure-action", "rollback", "nginx"],
      '--rollback-failure-action "rollback": must be one of pause, continue',
    ],
    [
      ["--ulimit", "nofile", "nginx"],
      '--ulimit "nofile": write it as NAME=SOFT[:HARD], like nofile=1024:2048',
    ],
    [
      ["--placement-pref", "pack=node.id", "nginx"],
      '--placement-pref "pack=node.id": only spread=<key> preferences exist, got "pack"',
    ],
    [
      ["--no-healthcheck", "--health-cmd", "true", "nginx"],
      "--no-healthcheck conflicts with the --health-* options",
    ],
    [["--add-host", "db", "nginx"], '--add-host "db": write it as HOST:IP'],
  ];
  for (const [argv, message] of errors) {
    it(`refuses ${argv.slice(0, -1).join(" ")}`, () => {
      expect(() => create(...argv)).toThrow(expect.objectContaining({ code: "CLI_USAGE", message }));
    });
  }

  const invalid: [string[], string][] = [
    [["--reserve-memory", "1M", "nginx"], "--reserve-memory: 1MiB is below the 4MiB minimum"],
    [["--constraint", "node.colour==red", "nginx"], "--constraint:"],
    [["--mount", "type=bind,source=rel,target=/x", "nginx"], "--mount:"],
    [["--name", "bad name", "nginx"], "--name:"],
  ];
  for (const [argv, start] of invalid) {
    it(`names the flag when the spec rules refuse ${argv.slice(0, 2).join(" ")}`, () => {
      const spec = create(...argv);
      expect(() => assertValidFlags(spec)).toThrow(
        expect.objectContaining({ code: "CLI_USAGE", message: expect.stringContaining(start) }),
      );
    });
  }

  it("names a service after its image without --name", () => {
    expect(nameFromImage("registry:5000/team/web-app:1.2@sha256:abc")).toBe("web-app");
    expect(nameFromImage("Busybox")).toBe("busybox");
  });
});

describe("service update flags", () => {
  const base = create(
    "--name",
    "web",
    "--replicas",
    "2",
    "-e",
    "A=1",
    "-e",
    "B=2",
    "-l",
    "x=1",
    "-p",
    "8080:80",
    "-p",
    "9090:90",
    "--mount",
    "type=tmpfs,target=/tmp",
    "--constraint",
    "node.role==worker",
    "--secret",
    "db",
    "--network",
    "front",
    "--cap-add",
    "NET_ADMIN",
    "--sysctl",
    "a.b=1",
    "nginx:1",
  );

  const cases: [string, string[], (s: ServiceSpec) => unknown, unknown][] = [
    ["--image", ["--image", "nginx:2"], (s) => s.taskTemplate?.container?.image, "nginx:2"],
    ["--replicas", ["--replicas", "5"], (s) => s.mode, { $case: "replicated", value: { replicas: 5 } }],
    [
      "--env-add replaces by key, --env-rm removes",
      ["--env-add", "A=9", "--env-add", "C=3", "--env-rm", "B"],
      (s) => s.taskTemplate?.container?.env,
      ["A=9", "C=3"],
    ],
    ["--label-add/--label-rm", ["--label-add", "y=2", "--label-rm", "x"], (s) => s.labels, { y: "2" }],
    [
      "--publish-rm by published port, --publish-add",
      ["--publish-rm", "8080", "--publish-add", "7070:70"],
      (s) => s.endpointSpec?.ports?.map((p) => `${p.publishedPort}:${p.targetPort}`),
      ["9090:90", "7070:70"],
    ],
    ["--publish-rm by target port", ["--publish-rm", "90/tcp"], (s) => s.endpointSpec?.ports?.length, 1],
    [
      "--mount-rm/--mount-add",
      ["--mount-rm", "/tmp", "--mount-add", "type=volume,source=data,target=/data"],
      (s) => s.taskTemplate?.container?.mounts?.map((m) => m.target),
      ["/data"],
    ],
    [
      "--constraint-rm/--constraint-add",
      ["--constraint-rm", "node.role==worker", "--constraint-add", "node.labels.az==b"],
      (s) => s.taskTemplate?.placement?.constraints,
      ["node.labels.az==b"],
    ],
    [
      "--secret-rm/--secret-add",
      ["--secret-rm", "db", "--secret-add", "api"],
      (s) => s.taskTemplate?.container?.secrets?.map((x) => x.secretName),
      ["api"],
    ],
    ["--network-rm", ["--network-rm", "front"], (s) => s.taskTemplate?.networks, []],
    [
      "--cap-drop undoes --cap-add",
      ["--cap-drop", "net_admin"],
      (s) => [s.taskTemplate?.container?.capAdd, s.taskTemplate?.container?.capDrop],
      [[], ["NET_ADMIN"]],
    ],
    ["--sysctl-rm", ["--sysctl-rm", "a.b"], (s) => s.taskTemplate?.container?.sysctls, {}],
    ["--force bumps force_update", ["--force"], (s) => s.taskTemplate?.forceUpdate, 1],
    [
      "--args",
      ["--args", "nginx -g 'daemon off;'"],
      (s) => s.taskTemplate?.container?.args,
      ["nginx", "-g", "daemon off;"],
    ],
    [
      "--update-order only",
      ["--update-order", "start-first"],
      (s) => s.updateConfig?.order,
      UpdateOrder.START_FIRST,
    ],
    ["nothing given changes nothing", [], (s) => s, base],
  ];
  for (const [name, argv, pick, expected] of cases) {
    it(name, () => {
      const before = structuredClone(base);
      expect(pick(update(base, ...argv))).toEqual(expected);
      expect(base).toEqual(before);
    });
  }

  it("refuses --max-concurrent on a replicated service", () => {
    expect(() => update(base, "--max-concurrent", "2")).toThrow(
      "--max-concurrent: only replicated-job services take it, not replicated",
    );
  });
});
