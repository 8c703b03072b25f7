import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { ProtoErrorCode } from "../errors.js";
import {
  BindPropagation,
  EndpointMode,
  MountType,
  PortProtocol,
  PublishMode,
  RestartCondition,
  ServiceSpec,
  UpdateFailureAction,
} from "../gen/shoal/v1/specs.js";
import { assertValidServiceSpec, validateServiceSpec } from "./service-spec.js";

const MiB = 1024 * 1024;

/** A valid spec that uses most features; each case breaks one thing. */
function baseSpec(): ServiceSpec {
  return ServiceSpec.fromPartial({
    name: "web",
    labels: { tier: "front" },
    mode: { $case: "replicated", value: { replicas: 3 } },
    taskTemplate: {
      container: {
        image: "registry.local:5000/team/nginx:1.27@sha256:" + "a".repeat(64),
        env: ["A=1", "B"],
        stopSignal: "SIGQUIT",
        stopGracePeriodMs: 10_000,
        mounts: [
          { type: MountType.BIND, source: "/srv/www", target: "/usr/share/nginx", readOnly: true },
          { type: MountType.TMPFS, target: "/tmp", tmpfsOptions: { sizeBytes: 64 * MiB, mode: 0o1777 } },
        ],
        secrets: [{ secretName: "db_pass", file: { name: "db_pass", uid: "0", gid: "0", mode: 0o400 } }],
        configs: [{ configId: "cfg1", file: { name: "/etc/nginx/nginx.conf", mode: 0o444 } }],
        healthcheck: { test: ["CMD", "curl", "-f", "http://localhost"], intervalMs: 5_000, retries: 3 },
        hosts: ["10.0.0.1 db"],
        ulimits: [{ name: "nofile", soft: 1024, hard: 4096 }],
      },
      resources: {
        limits: { nanoCpus: 2e9, memoryBytes: 512 * MiB },
        reservations: {
          nanoCpus: 5e8,
          memoryBytes: 256 * MiB,
          generic: [{ kind: "gpu", value: { $case: "discrete", value: 1 } }],
        },
      },
      restartPolicy: {
        condition: RestartCondition.ON_FAILURE,
        delayMs: 1_000,
        maxAttempts: 3,
        windowMs: 60_000,
      },
      placement: {
        constraints: ["node.role==worker", "node.labels.zone != eu-1"],
        preferences: [{ preference: { $case: "spread", value: { spreadDescriptor: "node.labels.zone" } } }],
        maxReplicasPerNode: 2,
      },
      networks: [{ target: "front" }, { target: "back" }],
    },
    updateConfig: {
      parallelism: 2,
      delayMs: 10_000,
      failureAction: UpdateFailureAction.ROLLBACK,
      maxFailureRatio: 0.2,
    },
    rollbackConfig: { parallelism: 0 },
    endpointSpec: {
      mode: EndpointMode.VIP,
      ports: [
        { protocol: PortProtocol.TCP, targetPort: 80, publishedPort: 8080 },
        { protocol: PortProtocol.UDP, targetPort: 53, publishedPort: 8080 },
        { targetPort: 9000 },
        { targetPort: 9001 },
      ],
    },
  });
}

type Case = [title: string, breakIt: (spec: ServiceSpec) => void, messages: string[]];

const c = (spec: ServiceSpec) => spec.taskTemplate!.container!;

const cases: Case[] = [
  // name
  ["empty name", (s) => (s.name = ""), ["name: must not be empty"]],
  [
    "name too long",
    (s) => (s.name = "a".repeat(64)),
    [`name: "${"a".repeat(64)}" is 64 characters long, above the 63 maximum`],
  ],
  [
    "name with a space",
    (s) => (s.name = "my web"),
    [
      'name: "my web" is not a valid name; use letters, digits, "-" and "_", starting and ending with a letter or digit',
    ],
  ],
  [
    "name ending in a dash",
    (s) => (s.name = "web-"),
    [
      'name: "web-" is not a valid name; use letters, digits, "-" and "_", starting and ending with a letter or digit',
    ],
  ],
  ["empty label key", (s) => (s.labels = { "": "x" }), ["labels: label keys must not be empty"]],
  // mode
  [
    "negative replicas",
    (s) => (s.mode = { $case: "replicated", value: { replicas: -1 } }),
    ["mode.replicated.replicas: -1 must not be negative"],
  ],
  [
    "fractional replicas",
    (s) => (s.mode = { $case: "replicated", value: { replicas: 1.5 } }),
    ["mode.replicated.replicas: 1.5 must be a whole number"],
  ],
  [
    "negative job counts",
    (s) => {
      s.mode = { $case: "replicatedJob", value: { maxConcurrent: -1, totalCompletions: -2 } };
      s.taskTemplate!.placement!.maxReplicasPerNode = 0;
    },
    [
      "mode.replicated_job.max_concurrent: -1 must not be negative",
      "mode.replicated_job.total_completions: -2 must not be negative",
    ],
  ],
  // task template and container
  ["missing task template", (s) => delete s.taskTemplate, ["task_template: must be set"]],
  ["missing container", (s) => delete s.taskTemplate!.container, ["task_template.container: must be set"]],
  ["empty image", (s) => (c(s).image = ""), ["task_template.container.image: must not be empty"]],
  [
    "uppercase image",
    (s) => (c(s).image = "Nginx:latest"),
    [
      'task_template.container.image: "Nginx:latest" is not a valid image reference; use name[:tag][@digest] in lowercase',
    ],
  ],
  [
    "bad env entry",
    (s) => (c(s).env = ["=oops"]),
    ['task_template.container.env[0]: "=oops" must look like KEY=value'],
  ],
  [
    "unknown stop signal",
    (s) => (c(s).stopSignal = "SIGFOO"),
    ['task_template.container.stop_signal: "SIGFOO" is not a known signal'],
  ],
  [
    "negative stop grace",
    (s) => (c(s).stopGracePeriodMs = -1000),
    ["task_template.container.stop_grace_period_ms: -1s must not be negative"],
  ],
  [
    "mount without type",
    (s) => (c(s).mounts[0]!.type = MountType.UNSPECIFIED),
    ["task_template.container.mounts[0].type: 0 is not one of bind, volume, tmpfs"],
  ],
  [
    "relative mount target",
    (s) => (c(s).mounts[0]!.target = "data"),
    ['task_template.container.mounts[0].target: "data" must be an absolute path'],
  ],
  [
    "bind mount without source",
    (s) => (c(s).mounts[0]!.source = ""),
    ["task_template.container.mounts[0].source: must be set for a bind mount"],
  ],
  [
    "relative bind source",
    (s) => (c(s).mounts[0]!.source = "www"),
    ['task_template.container.mounts[0].source: "www" must be an absolute path'],
  ],
  [
    "tmpfs with a source",
    (s) => (c(s).mounts[1]!.source = "/x"),
    ['task_template.container.mounts[1].source: "/x" must be empty for a tmpfs mount'],
  ],
  [
    "bind options on tmpfs",
    (s) =>
      (c(s).mounts[1]!.bindOptions = {
        propagation: BindPropagation.RSHARED,
        nonRecursive: false,
        createMountpoint: false,
      }),
    ["task_template.container.mounts[1].bind_options: is only allowed on a bind mount"],
  ],
  [
    "volume options on bind",
    (s) => (c(s).mounts[0]!.volumeOptions = { noCopy: true, labels: {} }),
    ["task_template.container.mounts[0].volume_options: is only allowed on a volume mount"],
  ],
  [
    "tmpfs options on bind",
    (s) => (c(s).mounts[0]!.tmpfsOptions = { sizeBytes: 0, mode: 0, options: [] }),
    ["task_template.container.mounts[0].tmpfs_options: is only allowed on a tmpfs mount"],
  ],
  [
    "negative tmpfs size and bad mode",
    (s) => (c(s).mounts[1]!.tmpfsOptions = { sizeBytes: -1, mode: 0o17777, options: [] }),
    [
      "task_template.container.mounts[1].tmpfs_options.size_bytes: -1B must not be negative",
      "task_template.container.mounts[1].tmpfs_options.mode: 0o17777 is above the 0o7777 maximum",
    ],
  ],
  [
    "two mounts on one target",
    (s) => (c(s).mounts[1]!.target = "/usr/share/nginx"),
    ['task_template.container.mounts[1]: target "/usr/share/nginx" is used twice'],
  ],
  [
    "secret without id or name",
    (s) => (c(s).secrets[0]!.secretName = ""),
    ["task_template.container.secrets[0]: needs secret_id or secret_name"],
  ],
  [
    "secret without file",
    (s) => delete c(s).secrets[0]!.file,
    ["task_template.container.secrets[0].file: must be set"],
  ],
  [
    "secret file name with ..",
    (s) => (c(s).secrets[0]!.file!.name = "../etc/shadow"),
    ['task_template.container.secrets[0].file.name: "../etc/shadow" must not contain ".."'],
  ],
  [
    "secret file mode too wide",
    (s) => (c(s).secrets[0]!.file!.mode = 0o1777),
    ["task_template.container.secrets[0].file.mode: 0o1777 is above the 0o777 maximum"],
  ],
  [
    "two secrets on one target",
    (s) =>
      c(s).secrets.push({
        secretId: "s2",
        secretName: "",
        file: { name: "db_pass", uid: "", gid: "", mode: 0 },
      }),
    ['task_template.container.secrets[1]: target "db_pass" is used twice'],
  ],
  [
    "config without id or name",
    (s) => (c(s).configs[0]!.configId = ""),
    ["task_template.container.configs[0]: needs config_id or config_name"],
  ],
  [
    "unknown healthcheck kind",
    (s) => (c(s).healthcheck!.test = ["CURL", "x"]),
    ['task_template.container.healthcheck.test[0]: "CURL" is not one of NONE, CMD, CMD-SHELL'],
  ],
  [
    "healthcheck without command",
    (s) => (c(s).healthcheck!.test = ["CMD-SHELL"]),
    ['task_template.container.healthcheck.test: ["CMD-SHELL"] names no command'],
  ],
  [
    "negative healthcheck values",
    (s) => {
      const h = c(s).healthcheck!;
      h.intervalMs = -1;
      h.timeoutMs = -2;
      h.retries = -1;
      h.startPeriodMs = -3;
      h.startIntervalMs = -4;
    },
    [
      "task_template.container.healthcheck.interval_ms: -1ms must not be negative",
      "task_template.container.healthcheck.timeout_ms: -2ms must not be negative",
      "task_template.container.healthcheck.retries: -1 must not be negative",
      "task_template.container.healthcheck.start_period_ms: -3ms must not be negative",
      "task_template.container.healthcheck.start_interval_ms: -4ms must not be negative",
    ],
  ],
  [
    "hosts line without a name",
    (s) => (c(s).hosts = ["10.0.0.1"]),
    ['task_template.container.hosts[0]: "10.0.0.1" must look like "IP hostname [alias...]"'],
  ],
  [
    "ulimit soft above hard",
    (s) => (c(s).ulimits[0]!.soft = 8192),
    ["task_template.container.ulimits[0]: soft limit 8192 is above the hard limit 4096"],
  ],
  [
    "ulimit twice",
    (s) => c(s).ulimits.push({ name: "nofile", soft: 1, hard: 1 }),
    ['task_template.container.ulimits[1]: ulimit "nofile" is set twice'],
  ],
  [
    "ulimit without name",
    (s) => (c(s).ulimits[0]!.name = ""),
    ["task_template.container.ulimits[0].name: must not be empty"],
  ],
  [
    "empty sysctl name",
    (s) => (c(s).sysctls = { "": "1" }),
    ["task_template.container.sysctls: sysctl names must not be empty"],
  ],
  // resources
  [
    "CPU reservation below the minimum",
    (s) => (s.taskTemplate!.resources!.reservations!.nanoCpus = 500_000),
    ["task_template.resources.reservations.nano_cpus: 0.0005 CPUs is below the 0.001 minimum"],
  ],
  [
    "CPU limit below the minimum",
    (s) => {
      s.taskTemplate!.resources!.limits!.nanoCpus = 999_999;
      s.taskTemplate!.resources!.reservations!.nanoCpus = 0;
    },
    ["task_template.resources.limits.nano_cpus: 0.000999999 CPUs is below the 0.001 minimum"],
  ],
  [
    "negative CPUs",
    (s) => (s.taskTemplate!.resources!.reservations!.nanoCpus = -1e9),
    ["task_template.resources.reservations.nano_cpus: -1 CPUs must not be negative"],
  ],
  [
    "memory reservation below the minimum",
    (s) => (s.taskTemplate!.resources!.reservations!.memoryBytes = MiB),
    ["task_template.resources.reservations.memory_bytes: 1MiB is below the 4MiB minimum"],
  ],
  [
    "negative memory",
    (s) => (s.taskTemplate!.resources!.limits!.memoryBytes = -MiB),
    ["task_template.resources.limits.memory_bytes: -1MiB must not be negative"],
  ],
  [
    "limits below reservations",
    (s) => {
      s.taskTemplate!.resources!.limits!.nanoCpus = 2.5e8;
      s.taskTemplate!.resources!.limits!.memoryBytes = 128 * MiB;
    },
    [
      "task_template.resources.limits.nano_cpus: 0.25 CPUs is below the reservation of 0.5 CPUs",
      "task_template.resources.limits.memory_bytes: 128MiB is below the reservation of 256MiB",
    ],
  ],
  [
    "negative pids",
    (s) => (s.taskTemplate!.resources!.limits!.pids = -5),
    ["task_template.resources.limits.pids: -5 must not be negative"],
  ],
  [
    "generic resource problems",
    (s) =>
      (s.taskTemplate!.resources!.reservations!.generic = [
        { kind: "", value: { $case: "named", value: "gpu0" } },
        { kind: "gpu", value: { $case: "discrete", value: -1 } },
        { kind: "gpu", value: { $case: "discrete", value: 1 } },
        { kind: "fpga" },
      ]),
    [
      "task_template.resources.reservations.generic[0].kind: must not be empty",
      "task_template.resources.reservations.generic[1].discrete: -1 must not be negative",
      'task_template.resources.reservations.generic[2]: discrete resource "gpu" is listed twice',
      "task_template.resources.reservations.generic[3]: needs a discrete count or a named value",
    ],
  ],
  // restart policy
  [
    "bad restart policy",
    (s) =>
      (s.taskTemplate!.restartPolicy = {
        condition: 9 as RestartCondition,
        delayMs: -5000,
        maxAttempts: -1,
        windowMs: -1,
      }),
    [
      "task_template.restart_policy.condition: 9 is not one of none, on-failure, any",
      "task_template.restart_policy.delay_ms: -5s must not be negative",
      "task_template.restart_policy.max_attempts: -1 must not be negative",
      "task_template.restart_policy.window_ms: -1ms must not be negative",
    ],
  ],
  // placement
  [
    "constraint with a single =",
    (s) => (s.taskTemplate!.placement!.constraints = ["node.role=manager"]),
    [
      'task_template.placement.constraints[0]: "node.role=manager" is not a valid constraint; use key==value or key!=value',
    ],
  ],
  [
    "constraint with an unknown key",
    (s) => (s.taskTemplate!.placement!.constraints = ["node.zone==a"]),
    [
      'task_template.placement.constraints[0]: "node.zone==a" has unknown key "node.zone"; use node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.ip, node.labels.<name> or engine.labels.<name>',
    ],
  ],
  [
    "constraint with an empty value",
    (s) => (s.taskTemplate!.placement!.constraints = ["node.id=="]),
    ['task_template.placement.constraints[0]: "node.id==" has an empty value'],
  ],
  [
    "constraint with an unknown role",
    (s) => (s.taskTemplate!.placement!.constraints = ["node.role==boss"]),
    [
      'task_template.placement.constraints[0]: "node.role==boss" compares node.role with "boss"; use manager or worker',
    ],
  ],
  [
    "spread over an unknown key",
    (s) =>
      (s.taskTemplate!.placement!.preferences = [
        { preference: { $case: "spread", value: { spreadDescriptor: "zone" } } },
      ]),
    [
      'task_template.placement.preferences[0].spread.spread_descriptor: "zone" is not a key to spread over; use node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>',
    ],
  ],
  [
    "spread over node ids (one group per node: plain spread already does that)",
    (s) =>
      (s.taskTemplate!.placement!.preferences = [
        { preference: { $case: "spread", value: { spreadDescriptor: "node.id" } } },
      ]),
    [
      'task_template.placement.preferences[0].spread.spread_descriptor: "node.id" is not a key to spread over; use node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<name> or engine.labels.<name>',
    ],
  ],
  [
    "constraint on node.ip with neither an address nor a network",
    (s) => (s.taskTemplate!.placement!.constraints = ["node.ip==10.0.0.0/33"]),
    [
      'task_template.placement.constraints[0]: "node.ip==10.0.0.0/33" compares node.ip with "10.0.0.0/33", which is neither an IP address nor a CIDR network',
    ],
  ],
  [
    "empty preference",
    (s) => (s.taskTemplate!.placement!.preferences = [{}]),
    ["task_template.placement.preferences[0]: must name a preference (spread)"],
  ],
  [
    "negative max replicas per node",
    (s) => (s.taskTemplate!.placement!.maxReplicasPerNode = -1),
    ["task_template.placement.max_replicas_per_node: -1 must not be negative"],
  ],
  [
    "max replicas per node on a global service",
    (s) => (s.mode = { $case: "global", value: {} }),
    ["task_template.placement.max_replicas_per_node: 2 is only allowed for replicated services"],
  ],
  [
    "empty platform",
    (s) => (s.taskTemplate!.placement!.platforms = [{ os: "", architecture: "" }]),
    ["task_template.placement.platforms[0]: must name an os or an architecture"],
  ],
  // log driver, networks
  [
    "log driver without a name",
    (s) => (s.taskTemplate!.logDriver = { name: "", options: {} }),
    ["task_template.log_driver.name: must not be empty"],
  ],
  [
    "network without target",
    (s) => (s.taskTemplate!.networks[0]!.target = ""),
    ["task_template.networks[0].target: must not be empty"],
  ],
  [
    "network twice",
    (s) => (s.taskTemplate!.networks[1]!.target = "front"),
    ['task_template.networks[1]: network "front" is attached twice'],
  ],
  // update and rollback
  [
    "negative parallelism",
    (s) => (s.updateConfig!.parallelism = -1),
    ["update_config.parallelism: -1 must not be negative"],
  ],
  [
    "failure ratio above 1",
    (s) => (s.updateConfig!.maxFailureRatio = 1.5),
    ["update_config.max_failure_ratio: 1.5 must be between 0 and 1"],
  ],
  [
    "negative failure ratio",
    (s) => (s.rollbackConfig!.maxFailureRatio = -0.1),
    ["rollback_config.max_failure_ratio: -0.1 must be between 0 and 1"],
  ],
  [
    "NaN failure ratio",
    (s) => (s.updateConfig!.maxFailureRatio = Number.NaN),
    ["update_config.max_failure_ratio: NaN must be between 0 and 1"],
  ],
  [
    "negative delay and monitor, unknown enums",
    (s) =>
      Object.assign(s.rollbackConfig!, { delayMs: -1000, monitorMs: -90_000, failureAction: 7, order: 5 }),
    [
      "rollback_config.delay_ms: -1s must not be negative",
      "rollback_config.failure_action: 7 is not one of pause, continue, rollback",
      "rollback_config.monitor_ms: -1m30s must not be negative",
      "rollback_config.order: 5 is not one of stop-first, start-first",
    ],
  ],
  // endpoint
  [
    "published port used twice",
    (s) =>
      s.endpointSpec!.ports.push({
        name: "",
        protocol: PortProtocol.UNSPECIFIED,
        targetPort: 81,
        publishedPort: 8080,
        publishMode: PublishMode.HOST,
      }),
    ["endpoint_spec.ports[4]: published port 8080/tcp is used twice"],
  ],
  [
    "published port used twice with explicit protocol",
    (s) => (s.endpointSpec!.ports[1]!.protocol = PortProtocol.TCP),
    ["endpoint_spec.ports[1]: published port 8080/tcp is used twice"],
  ],
  [
    "target port out of range",
    (s) => {
      s.endpointSpec!.ports[0]!.targetPort = 0;
      s.endpointSpec!.ports[1]!.targetPort = 70_000;
    },
    [
      "endpoint_spec.ports[0].target_port: 0 must be between 1 and 65535",
      "endpoint_spec.ports[1].target_port: 70000 must be between 1 and 65535",
    ],
  ],
  [
    "published port out of range",
    (s) => (s.endpointSpec!.ports[0]!.publishedPort = -1),
    ["endpoint_spec.ports[0].published_port: -1 must be between 0 and 65535"],
  ],
  [
    "unknown protocol and publish mode",
    (s) => Object.assign(s.endpointSpec!.ports[2]!, { protocol: 9, publishMode: 9 }),
    [
      "endpoint_spec.ports[2].protocol: 9 is not one of tcp, udp, sctp",
      "endpoint_spec.ports[2].publish_mode: 9 is not one of ingress, host",
    ],
  ],
  [
    "ingress port with dnsrr",
    (s) => (s.endpointSpec!.mode = EndpointMode.DNSRR),
    [
      "endpoint_spec.ports[0]: port 8080/tcp published in ingress mode cannot be used with endpoint mode dnsrr; use publish_mode host",
      "endpoint_spec.ports[1]: port 8080/udp published in ingress mode cannot be used with endpoint mode dnsrr; use publish_mode host",
    ],
  ],
  [
    "unknown endpoint mode",
    (s) => (s.endpointSpec!.mode = 4 as EndpointMode),
    ["endpoint_spec.mode: 4 is not one of vip, dnsrr"],
  ],
];

describe("validateServiceSpec", () => {
  it("accepts the base spec and a minimal one", () => {
    expect(validateServiceSpec(baseSpec())).toEqual([]);
    expect(
      validateServiceSpec(
        ServiceSpec.fromPartial({ name: "a", taskTemplate: { container: { image: "busybox" } } }),
      ),
    ).toEqual([]);
  });

  it.each(cases)("%s", (_title, breakIt, messages) => {
    const spec = baseSpec();
    breakIt(spec);
    expect(validateServiceSpec(spec).map((issue) => issue.message)).toEqual(messages);
  });

  it("gives each issue its field path", () => {
    const spec = baseSpec();
    spec.updateConfig!.parallelism = -1;
    expect(validateServiceSpec(spec)).toEqual([
      { path: "update_config.parallelism", message: "update_config.parallelism: -1 must not be negative" },
    ]);
  });

  it("accepts the image reference forms people use", () => {
    for (const image of [
      "nginx",
      "nginx:1.27-alpine",
      "library/nginx",
      "localhost:5000/a/b_c__d:v1",
      "ghcr.io/org/app@sha256:" + "0".repeat(64),
    ]) {
      const spec = baseSpec();
      c(spec).image = image;
      expect(validateServiceSpec(spec), image).toEqual([]);
    }
  });
});

describe("assertValidServiceSpec", () => {
  it("throws one PROTO_INVALID_SPEC error listing every issue", () => {
    const spec = baseSpec();
    spec.updateConfig!.parallelism = -1;
    c(spec).image = "";
    let caught: unknown;
    try {
      assertValidServiceSpec(spec);
    } catch (err) {
      caught = err;
    }
    expect(ShoalError.is(caught, ProtoErrorCode.InvalidSpec)).toBe(true);
    const err = caught as ShoalError;
    expect(err.message).toBe(
      'service spec "web" is invalid: task_template.container.image: must not be empty; update_config.parallelism: -1 must not be negative',
    );
    expect((err.details.issues as unknown[]).length).toBe(2);
  });

  it("does nothing for a valid spec", () => {
    expect(() => assertValidServiceSpec(baseSpec())).not.toThrow();
  });
});
