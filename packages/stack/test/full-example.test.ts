// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose variable references and Go templates, not JS templates
import {
  EndpointMode,
  MountType,
  PortProtocol,
  PublishMode,
  RestartCondition,
  UpdateFailureAction,
  UpdateOrder,
} from "@shoal/proto";
import { describe, expect, it } from "vitest";
import {
  convertStack,
  formatIssue,
  IGNORED_SERVICE_KEYS,
  STACK_NAMESPACE_LABEL,
  type StackConfig,
  validatePlan,
} from "../src/index.js";
import { loadFromText, readTestdata } from "./helpers.js";

// docker/cli's loader test loads full-example.yml with working dir /foo, HOME=/bar and
// QUX=qux_from_environment; the golden file is what it prints. We do the same.
function loadFullExample(deployChecks = false) {
  return loadFromText([{ name: "full-example.yml", text: readTestdata("peer", "full-example.yml") }], {
    workingDir: "/foo",
    env: { HOME: "/bar", QUX: "qux_from_environment" },
    files: {
      "/foo/example1.env": readTestdata("peer", "example1.env"),
      "/foo/example2.env": readTestdata("peer", "example2.env"),
    },
    deployChecks,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the golden JSON is walked freely
type Json = Record<string, any>;

/**
 * Where our normalized model differs from docker/cli's golden output on purpose. Each entry
 * rewrites the golden value into what we produce, and says why.
 */
const BY_DESIGN: Array<{ what: string; why: string; apply: (golden: Json, ours: Json) => void }> = [
  {
    what: "memory sizes are numbers",
    why: "docker prints UnitBytes as strings; our model keeps bytes as numbers (the specs need numbers)",
    apply: (g) => {
      const r = g.services.foo.deploy.resources;
      r.limits.memory = Number(r.limits.memory);
      r.reservations.memory = Number(r.reservations.memory);
    },
  },
  {
    what: "no file for config4/secret4",
    why: 'docker resolves the missing file "" to the working dir ("/foo"); we leave it unset and report it at deploy time',
    apply: (g) => {
      delete g.configs.config4.file;
      delete g.secrets.secret4.file;
    },
  },
  {
    what: "no empty ipam / credential_spec",
    why: "docker prints zero-valued Go structs; we print only what the file says",
    apply: (g) => {
      for (const n of Object.values(g.networks) as Json[])
        if (Object.keys(n.ipam ?? {}).length === 0) delete n.ipam;
      delete g.services.foo.credential_spec;
    },
  },
  {
    what: "host_ip kept on short ports",
    why: 'docker drops "127.0.0.1:" from short ports; we keep it in the model and warn at conversion, where Swarm specs have no host address',
    apply: (g) => {
      for (const p of g.services.foo.ports as Json[])
        if (p.published === 8001 || (p.published >= 5000 && p.published <= 5010)) p.host_ip = "127.0.0.1";
    },
  },
  {
    what: "keys Swarm ignores are carried unnormalized",
    why: "build (and its labels list) is ignored with a warning, so we do not normalize it",
    apply: (g, o) => {
      g.services.foo.build = o.services.foo.build;
    },
  },
  {
    what: "x-* extensions kept everywhere",
    why: "docker keeps service/volume/network extensions internally but does not print them (and parses the byte sizes inside x-cluster-spec, a CSI feature we do not have); we print them as written",
    apply: (g, o) => {
      for (const section of ["services", "networks", "volumes", "secrets", "configs"]) {
        for (const [k, v] of Object.entries(o[section] as Json)) {
          for (const x of Object.keys(v as Json).filter((key) => key.startsWith("x-")))
            g[section][k][x] = (v as Json)[x];
        }
      }
    },
  },
];

function normalizedAsGoldenShape(config: StackConfig): Json {
  const { extensions, ...rest } = structuredClone(config) as StackConfig & Json;
  return JSON.parse(JSON.stringify({ ...rest, ...extensions }));
}

describe("docker/cli full-example.yml", () => {
  it("normalizes to what full-example.json.golden says, apart from the listed differences", () => {
    const ours = normalizedAsGoldenShape(loadFullExample().config);
    const golden = JSON.parse(readTestdata("peer", "full-example.json.golden")) as Json;
    for (const d of BY_DESIGN) d.apply(golden, ours);
    expect(ours.services.foo).toEqual(golden.services.foo);
    expect(ours.networks).toEqual(golden.networks);
    expect(ours.volumes).toEqual(golden.volumes);
    expect(ours.secrets).toEqual(golden.secrets);
    expect(ours.configs).toEqual(golden.configs);
    expect(ours).toEqual(golden);
  });

  it("is a loader fixture, not a deployable stack: the deploy checks say why", () => {
    expect(() => loadFullExample(true)).toThrow(
      [
        "3 problems in the stack file:",
        '  full-example.yml:216:7: services.foo.networks.other-other-network: network "other-other-network" is not defined under the top-level networks:',
        "  full-example.yml:220:5: services.foo.ports: ports published in ingress mode need endpoint_mode vip; use mode: host with dnsrr",
        '  full-example.yml:285:9: services.foo.volumes[5]: volume "datavolume" is not defined under the top-level volumes:',
      ].join("\n"),
    );
  });

  it("warns by name about the keys Swarm ignores", () => {
    const warned = loadFullExample()
      .warnings.filter((w) => w.path !== undefined && w.path.split(".")[2]! in IGNORED_SERVICE_KEYS)
      .map((w) => w.path);
    expect(warned.sort()).toEqual(
      [
        "build",
        "cgroup_parent",
        "container_name",
        "depends_on",
        "devices",
        "domainname",
        "expose",
        "external_links",
        "ipc",
        "links",
        "mac_address",
        "network_mode",
        "pid",
        "privileged",
        "restart",
        "security_opt",
      ].map((k) => `services.foo.${k}`),
    );
  });

  describe("conversion agrees field by field with the golden values", () => {
    const plan = convertStack(loadFullExample().config, "st");
    const svc = plan.services[0]!;
    const c = svc.taskTemplate!.container!;
    const ns = { [STACK_NAMESPACE_LABEL]: "st" };

    it("names and labels", () => {
      expect(plan.services.map((s) => s.name)).toEqual(["st_foo"]);
      expect(svc.labels).toEqual({ FOO: "BAR", ...ns });
      expect(c.labels).toEqual({
        "com.example.description": "Accounting webapp",
        "com.example.empty-label": "",
        "com.example.number": "42",
        ...ns,
      });
    });

    it("container", () => {
      expect(c.image).toBe("redis");
      // golden entrypoint → our command (replaces ENTRYPOINT); golden command → our args (CMD).
      expect(c.command).toEqual(["/code/entrypoint.sh", "-p", "3000"]);
      expect(c.args).toEqual(["bundle", "exec", "thin", "-p", "3000"]);
      expect(c.env).toEqual([
        "BAR=bar_from_env_file_2",
        "BAZ=baz_from_service_def",
        "FOO=foo_from_env_file",
        "QUX=qux_from_environment",
      ]);
      expect(c.hostname).toBe("foo");
      expect(c.dir).toBe("/code");
      expect(c.user).toBe("someone");
      expect([c.tty, c.openStdin, c.readOnly]).toEqual([true, true, true]);
      expect(c.stopSignal).toBe("SIGUSR1");
      expect(c.stopGracePeriodMs).toBe(20_000);
      expect(c.capAdd).toEqual(["ALL"]);
      expect(c.capDrop).toEqual(["NET_ADMIN", "SYS_ADMIN"]);
      expect(c.sysctls).toEqual({ "net.core.somaxconn": "1024", "net.ipv4.tcp_syncookies": "0" });
      expect(c.ulimits).toEqual([
        { name: "nofile", soft: 20000, hard: 40000 },
        { name: "nproc", soft: 65535, hard: 65535 },
      ]);
      expect(c.hosts).toEqual([
        "162.242.195.82 somehost",
        "50.31.209.229 otherhost",
        "host-gateway host.docker.internal",
      ]);
      expect(c.dnsConfig).toEqual({
        nameservers: ["8.8.8.8", "9.9.9.9"],
        search: ["dc1.example.com", "dc2.example.com"],
        options: [],
      });
      expect(c.healthcheck).toEqual({
        test: ["CMD-SHELL", 'echo "hello world"'],
        intervalMs: 10_000,
        timeoutMs: 1_000,
        retries: 5,
        startPeriodMs: 15_000,
        startIntervalMs: 1_000,
      });
    });

    it("secrets and configs", () => {
      expect(c.secrets).toEqual([
        {
          secretId: "",
          secretName: "st_secret1",
          file: { name: "secret1", uid: "0", gid: "0", mode: 0o444 },
        },
        {
          secretId: "",
          secretName: "my_secret",
          file: { name: "my_secret", uid: "103", gid: "103", mode: 0o440 },
        },
      ]);
      expect(c.configs).toEqual([
        {
          configId: "",
          configName: "st_config1",
          file: { name: "/config1", uid: "0", gid: "0", mode: 0o444 },
        },
        {
          configId: "",
          configName: "my_config",
          file: { name: "/my_config", uid: "103", gid: "103", mode: 0o440 },
        },
      ]);
      expect(plan.secrets.map((s) => [s.key, s.spec.name, s.external, s.file])).toEqual([
        ["secret1", "st_secret1", false, "/foo/secret_data"],
        ["secret2", "my_secret", true, undefined],
        ["secret3", "secret3", true, undefined],
        ["secret4", "bar", false, undefined],
      ]);
      expect(plan.secrets[0]!.spec.labels).toEqual({ foo: "bar", ...ns });
      expect(plan.configs.map((s) => [s.key, s.spec.name, s.external, s.file])).toEqual([
        ["config1", "st_config1", false, "/foo/config_data"],
        ["config2", "my_config", true, undefined],
        ["config3", "config3", true, undefined],
        ["config4", "foo", false, undefined],
      ]);
    });

    it("mounts (the cluster volume is left out with a warning: no CSI volumes; tmpfs: is mounted)", () => {
      const m = c.mounts.map((x) => [x.type, x.source, x.target, x.readOnly]);
      expect(m).toEqual([
        [MountType.VOLUME, "", "/var/lib/mysql", false],
        [MountType.BIND, "/opt/data", "/var/lib/mysql", false],
        [MountType.BIND, "/foo", "/code", false],
        [MountType.BIND, "/foo/static", "/var/www/html", false],
        [MountType.BIND, "/bar/configs", "/etc/configs/", true],
        [MountType.VOLUME, "st_datavolume", "/var/lib/mysql", false],
        [MountType.BIND, "/foo/opt", "/opt", false],
        [MountType.TMPFS, "", "/opt", false],
        // Service-level tmpfs: docker/cli drops it for Swarm; we mount it (by design).
        [MountType.TMPFS, "", "/run", false],
        [MountType.TMPFS, "", "/tmp", false],
      ]);
      expect(c.mounts[7]!.tmpfsOptions?.sizeBytes).toBe(10000);
      expect(plan.warnings.map((w) => w.message)).toContain(
        "cluster mount at /srv is not supported and is left out",
      );
    });

    it("deploy: mode, resources, restart, placement, update and rollback", () => {
      expect(svc.mode).toEqual({ $case: "replicated", value: { replicas: 6 } });
      const t = svc.taskTemplate!;
      expect(t.resources).toEqual({
        limits: { nanoCpus: 1_000_000, memoryBytes: 52_428_800, pids: 100, generic: [] },
        reservations: {
          nanoCpus: 100_000,
          memoryBytes: 20_971_520,
          pids: 0,
          generic: [
            { kind: "gpu", value: { $case: "discrete", value: 2 } },
            { kind: "ssd", value: { $case: "discrete", value: 1 } },
          ],
        },
      });
      expect(t.restartPolicy).toEqual({
        condition: RestartCondition.ON_FAILURE,
        delayMs: 5000,
        maxAttempts: 3,
        windowMs: 120_000,
      });
      expect(t.placement).toEqual({
        constraints: ["node=foo"],
        preferences: [{ preference: { $case: "spread", value: { spreadDescriptor: "node.labels.az" } } }],
        maxReplicasPerNode: 5,
        platforms: [],
      });
      const update = {
        parallelism: 3,
        delayMs: 10_000,
        failureAction: UpdateFailureAction.CONTINUE,
        monitorMs: 60_000,
        maxFailureRatio: 0.3,
        order: UpdateOrder.START_FIRST,
      };
      expect(svc.updateConfig).toEqual(update);
      expect(svc.rollbackConfig).toEqual(update);
      expect(t.logDriver).toEqual({
        name: "syslog",
        options: { "syslog-address": "tcp://192.168.0.42:123" },
      });
    });

    it("endpoint: dnsrr and every port of every range", () => {
      const e = svc.endpointSpec!;
      expect(e.mode).toBe(EndpointMode.DNSRR);
      const golden = JSON.parse(readTestdata("peer", "full-example.json.golden")).services.foo
        .ports as Json[];
      expect(e.ports).toEqual(
        golden.map((p) => ({
          name: "",
          protocol: PortProtocol.TCP,
          targetPort: p.target,
          publishedPort: p.published ?? 0,
          publishMode: PublishMode.INGRESS,
        })),
      );
    });

    it("networks: stack-scoped names, the service name as an alias", () => {
      expect(svc.taskTemplate!.networks).toEqual([
        { target: "st_other-network", aliases: ["foo"], driverOpts: {} },
        { target: "st_other-other-network", aliases: ["foo"], driverOpts: {} },
        {
          target: "st_some-network",
          aliases: ["alias1", "alias3", "foo"],
          driverOpts: { driveropt1: "optval1", driveropt2: "optval2" },
        },
      ]);
      const other = plan.networks.find((n) => n.key === "other-network")!;
      expect(other.spec).toEqual({
        name: "st_other-network",
        labels: { foo: "bar", ...ns },
        driverConfig: { name: "overlay", options: { foo: "bar", baz: "1" } },
        ipv6Enabled: false,
        internal: false,
        attachable: false,
        ingress: false,
        ipam: {
          driver: { name: "overlay", options: {} },
          configs: [
            { subnet: "172.16.238.0/24", ipRange: "", gateway: "" },
            { subnet: "2001:3984:3989::/64", ipRange: "", gateway: "" },
          ],
        },
      });
      expect(plan.networks.map((n) => n.key)).toEqual([
        "other-network",
        "other-other-network",
        "some-network",
      ]);
    });
  });
});

describe("full-example against the manager's spec rules", () => {
  it("reports what a Shoal manager would refuse, at its position", () => {
    const loaded = loadFullExample();
    const issues = validatePlan(convertStack(loaded.config, "st", loaded.positions), loaded.positions);
    // Besides what the deploy checks find, the manager refuses three things docker's loader
    // fixture does: a mount target used twice, CPUs below the minimum, a constraint without ==/!=.
    const byKind = [...new Set(issues.map((i) => formatIssue(i).replace(/(port|target) \S+/, "$1 N")))];
    expect(byKind).toEqual([
      "full-example.yml:274:5: services.foo.volumes: target N is used twice",
      "full-example.yml:73:11: services.foo.deploy.resources.reservations.cpus: 0.0001 CPUs is below the 0.001 minimum",
      'full-example.yml:88:23: services.foo.deploy.placement.constraints[0]: "node=foo" is not a valid constraint; use key==value or key!=value',
      "full-example.yml:220:5: services.foo.ports: port N published in ingress mode cannot be used with endpoint mode dnsrr; use publish_mode host",
    ]);
  });
});
