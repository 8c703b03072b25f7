// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose variable references and Go templates, not JS templates
import { EndpointMode, PortProtocol, PublishMode, RestartCondition, type ServiceSpec } from "@shoal/proto";
import { expect } from "vitest";
import type { StackPlan } from "../src/index.js";

const Mi = 1024 * 1024;

// Kept apart from the test so the table of hand-read values can be read on its own.

/** What the acceptance list asks to check per service, in the file's own terms. */
export interface Expected {
  mode: "replicated" | "global" | "replicated-job" | "global-job";
  replicas?: number;
  constraints?: string[];
  maxReplicasPerNode?: number;
  limits?: { cpus?: number; memory?: number };
  reservations?: { cpus?: number; memory?: number };
  update?: {
    parallelism?: number;
    delay?: string;
    failure_action?: string;
    monitor?: string;
    max_failure_ratio?: number;
    order?: string;
  };
}

const R = (extra: Omit<Expected, "mode"> = {}): Expected => ({ mode: "replicated", ...extra });
const G = (extra: Omit<Expected, "mode"> = {}): Expected => ({ mode: "global", ...extra });
const MANAGER = ["node.role == manager"];
const WORKER = ["node.role == worker"];
const PROM_HELPERS = ["node.labels.services.promstack_prometheus_server == true"];
const GRAFANA_HELPERS = ["node.labels.services.promstack_grafana == true"];
const PROMSTACK_UPDATE_15 = {
  parallelism: 1,
  delay: "15s",
  failure_action: "rollback",
  monitor: "15s",
  max_failure_ratio: 0.2,
};
const PROMSTACK_UPDATE_30 = { ...PROMSTACK_UPDATE_15, delay: "30s" };
const PROMSTACK_ENV = {
  PROMSTACK_PROMETHEUS_VERSION: "prom/prometheus:v3.0.0",
  PROMSTACK_PROMETHEUS_GENCONFIG_VERSION: "swarmlibs/genconfig:0.1.0-rc.1",
  PROMSTACK_PROMETHEUS_CONFIG_PROVIDER_VERSION: "swarmlibs/prometheus-config-provider:0.1.0-rc.1",
  PROMSTACK_PROMETHEUS_CONFIG_RELOADER_VERSION: "prometheus-config-reloader:v0.74.0",
  PROMSTACK_GRAFANA_VERSION: "grafana/grafana:11.3.0",
  PROMSTACK_GRAFANA_CONFIG_RELOADER_VERSION: "swarmlibs/grafana-config-reloader:0.1.0",
  PROMSTACK_GRAFANA_CONFIG_PROVIDER_VERSION: "swarmlibs/grafana-config-provider:0.1.0",
};

export interface Case {
  file: string;
  env?: Record<string, string>;
  /** env_file entries the repository had and the copy does not: stubbed (path relative to the file). */
  envFiles?: string[];
  services: Record<string, Expected>;
  /** Further facts the file is in the corpus for (see testdata/real/SOURCES.md). */
  more?: (plan: StackPlan, svc: (name: string) => ServiceSpec) => void;
}

// Every value below was read from the file by hand (docker's defaults noted where they apply:
// an update_config without parallelism gets 1).
export const CASES: Case[] = [
  {
    file: "dockersamples__example-voting-app__docker-stack.yml",
    services: {
      redis: R({ replicas: 1, update: { parallelism: 2, delay: "10s" } }),
      db: R({ constraints: MANAGER }),
      vote: R({ replicas: 2, update: { parallelism: 2 } }),
      result: R({ replicas: 1, update: { parallelism: 2, delay: "10s" } }),
      worker: R({ replicas: 1, constraints: MANAGER }),
      visualizer: R({ constraints: MANAGER }),
    },
    more: (_plan, svc) => {
      expect(svc("worker").labels.APP).toBe("VOTING");
      expect(svc("worker").taskTemplate?.restartPolicy).toEqual({
        condition: RestartCondition.ON_FAILURE,
        delayMs: 10_000,
        maxAttempts: 3,
        windowMs: 120_000,
      });
      expect(svc("visualizer").taskTemplate?.container?.stopGracePeriodMs).toBe(90_000);
    },
  },
  {
    file: "dockersamples__example-voting-app__docker-stack-windows.yml",
    services: { vote: R(), result: R(), worker: R({ replicas: 3 }), "message-queue": R(), db: R() },
    more: (_plan, svc) => {
      expect(svc("db").endpointSpec).toEqual({
        mode: EndpointMode.DNSRR,
        ports: [
          {
            name: "",
            protocol: PortProtocol.TCP,
            targetPort: 4000,
            publishedPort: 3306,
            publishMode: PublishMode.HOST,
          },
        ],
      });
      expect(svc("result").taskTemplate?.container?.env).toEqual([
        "ConnectionStrings:ResultData=Server=db;Port=4000;Database=votes;User=root;SslMode=None",
      ]);
    },
  },
  {
    file: "dockersamples__atsea-sample-shop-app__docker-stack.yml",
    services: {
      reverse_proxy: R(),
      database: R({ constraints: WORKER }),
      appserver: R({
        replicas: 2,
        constraints: WORKER,
        update: { parallelism: 2, failure_action: "rollback" },
      }),
      visualizer: R({ constraints: MANAGER, update: { parallelism: 1, failure_action: "rollback" } }),
      payment_gateway: R({
        constraints: ["node.role == worker", "node.labels.pcidss == yes"],
        update: { parallelism: 1, failure_action: "rollback" },
      }),
    },
    more: (plan, svc) => {
      expect(svc("payment_gateway").taskTemplate?.container?.secrets).toEqual([
        {
          secretId: "",
          secretName: "staging_token",
          file: { name: "payment_token", uid: "0", gid: "0", mode: 0o444 },
        },
      ]);
      expect(plan.secrets.every((s) => s.external)).toBe(true); // external: names kept, not scoped
      expect(plan.networks.find((n) => n.key === "payment")?.spec.driverConfig?.options).toEqual({
        encrypted: "yes",
      });
    },
  },
  {
    file: "stefanprodan__swarmprom__docker-compose.yml",
    services: {
      "dockerd-exporter": G({ limits: { memory: 128 * Mi }, reservations: { memory: 64 * Mi } }),
      cadvisor: G({ limits: { memory: 128 * Mi }, reservations: { memory: 64 * Mi } }),
      grafana: R({
        replicas: 1,
        constraints: MANAGER,
        limits: { memory: 128 * Mi },
        reservations: { memory: 64 * Mi },
      }),
      alertmanager: R({
        replicas: 1,
        constraints: MANAGER,
        limits: { memory: 128 * Mi },
        reservations: { memory: 64 * Mi },
      }),
      unsee: R({ replicas: 1 }),
      "node-exporter": G({ limits: { memory: 128 * Mi }, reservations: { memory: 64 * Mi } }),
      prometheus: R({
        replicas: 1,
        constraints: MANAGER,
        limits: { memory: 2048 * Mi },
        reservations: { memory: 128 * Mi },
      }),
      caddy: R({
        replicas: 1,
        constraints: MANAGER,
        limits: { memory: 128 * Mi },
        reservations: { memory: 64 * Mi },
      }),
    },
    more: (_plan, svc) => {
      expect(svc("node-exporter").taskTemplate?.container?.env).toEqual(["NODE_ID={{.Node.ID}}"]);
      expect(svc("node-exporter").taskTemplate?.container?.args.at(3)).toBe(
        "--collector.filesystem.ignored-mount-points=^/(sys|proc|dev|host|etc)($|/)",
      );
      expect(svc("prometheus").taskTemplate?.container?.args.at(2)).toBe("--storage.tsdb.retention=24h");
      expect(svc("caddy").taskTemplate?.container?.healthcheck).toEqual({
        test: ["CMD", "curl", "-f", "http://localhost:3000"],
        intervalMs: 5000,
        timeoutMs: 1000,
        retries: 5,
      });
    },
  },
  {
    file: "BretFisher__dogvscat__stack-proxy-global.yml",
    services: { "traefik-init": R(), traefik: G(), consul: R(), dockersocket: G({ constraints: MANAGER }) },
    more: (plan, svc) => {
      expect(svc("consul").taskTemplate?.logDriver).toBeUndefined();
      expect(svc("traefik").endpointSpec?.ports.map((p) => [p.targetPort, p.publishMode])).toEqual([
        [80, PublishMode.HOST],
        [443, PublishMode.HOST],
        [8080, PublishMode.INGRESS],
      ]);
      expect(plan.networks.find((n) => n.key === "proxy")?.spec.name).toBe("proxy");
      const consulMount = svc("consul").taskTemplate?.container?.mounts[0];
      expect(consulMount?.volumeOptions?.driverConfig).toEqual({ name: "local", options: { size: "1" } });
    },
  },
  {
    file: "BretFisher__dogvscat__stack-ghost.yml",
    services: { ghost: R({ replicas: 1 }), db: R(), "db-backup": R() },
    more: (plan, svc) => {
      expect(svc("ghost").labels["traefik.http.routers.ghost.rule"]).toBe("Host(`ghost.dogvs.cat`)");
      expect(svc("db").endpointSpec?.mode).toBe(EndpointMode.DNSRR);
      expect(svc("db-backup").taskTemplate?.container?.args[2]).toContain(
        "--password=$(< $MYSQL_ROOT_PASSWORD_FILE)",
      );
      expect(svc("db-backup").taskTemplate?.restartPolicy?.delayMs).toBe(600_000);
      expect(plan.secrets[0]?.spec.name).toBe("db-password");
    },
  },
  {
    file: "BretFisher__dogvscat__stack-elk.yml",
    services: { elasticsearch: R({ replicas: 1 }), logstash: R({ replicas: 1 }), kibana: R({ replicas: 1 }) },
    more: (_plan, svc) => {
      // The default contains "$": taken literally, as docker/cli does.
      expect(svc("kibana").labels["traefik.http.middlewares.kibana-auth.basicauth.users"]).toBe(
        "admin:$2y$05$oZcj4FgdSFEYNCH0EH/3Vu7Hp72gkvEadHzMsDhGFkbvS/ZrKMKfK",
      );
      expect(svc("kibana").taskTemplate?.logDriver).toBeUndefined();
    },
  },
  {
    file: "BretFisher__dogvscat__stack-rexray.yml",
    services: { "plugin-rexray": G() },
    more: (plan, svc) => {
      expect(svc("plugin-rexray").taskTemplate?.restartPolicy?.condition).toBe(RestartCondition.NONE);
      expect(plan.secrets[0]?.spec.name).toBe("rexray_do_token");
    },
  },
  {
    file: "BretFisher__docker-mastery-for-nodejs__stack-vote.yml",
    services: {
      traefik: G({ constraints: MANAGER }),
      vote: R({ replicas: 2 }),
      result: R({
        replicas: 2,
        update: { parallelism: 1, failure_action: "rollback", order: "start-first" },
      }),
      worker: R({ replicas: 2 }),
      redis: R(),
      db: R(),
    },
    more: (_plan, svc) => {
      expect(svc("result").taskTemplate?.container?.stopGracePeriodMs).toBe(300_000);
      expect(svc("redis").endpointSpec?.mode).toBe(EndpointMode.DNSRR);
      expect(svc("redis").taskTemplate?.container?.args).toEqual(["redis-server", "--appendonly", "yes"]);
    },
  },
  {
    file: "BretFisher__udemy-docker-mastery__voting-app-placement.yml",
    services: {
      redis: R(),
      db: R({ constraints: ["node.labels.ssd == true"] }),
      vote: R({ replicas: 2, constraints: WORKER }),
      result: R(),
      worker: G({ constraints: WORKER }),
    },
  },
  {
    file: "tiangolo__dockerswarm.rocks__traefik-host.yml",
    env: {
      DOMAIN: "sys.example.com",
      USERNAME: "admin",
      HASHED_PASSWORD: "$apr1$x$y",
      EMAIL: "ops@example.com",
    },
    services: {
      traefik: R({ constraints: ["node.labels.traefik-public.traefik-public-certificates == true"] }),
    },
    more: (plan, svc) => {
      expect(svc("traefik").labels["traefik.http.middlewares.admin-auth.basicauth.users"]).toBe(
        "admin:$apr1$x$y",
      );
      expect(svc("traefik").labels["traefik.http.routers.traefik-public-http.rule"]).toBe(
        "Host(`sys.example.com`)",
      );
      expect(plan.networks).toMatchObject([
        { key: "traefik-public", external: true, spec: { name: "traefik-public" } },
      ]);
    },
  },
  {
    file: "tiangolo__dockerswarm.rocks__swarmpit.yml",
    env: { DOMAIN: "swarmpit.example.com" },
    services: {
      app: R({
        constraints: MANAGER,
        limits: { cpus: 0.5, memory: 1024 * Mi },
        reservations: { cpus: 0.25, memory: 512 * Mi },
      }),
      db: R({
        constraints: ["node.labels.swarmpit.db-data == true"],
        limits: { cpus: 0.3, memory: 512 * Mi },
        reservations: { cpus: 0.15, memory: 256 * Mi },
      }),
      influxdb: R({
        constraints: ["node.labels.swarmpit.influx-data == true"],
        limits: { cpus: 0.6, memory: 512 * Mi },
        reservations: { cpus: 0.3, memory: 128 * Mi },
      }),
      agent: G({ limits: { cpus: 0.1, memory: 64 * Mi }, reservations: { cpus: 0.05, memory: 32 * Mi } }),
    },
  },
  {
    file: "jpetazzo__container.training__dockercoins+healthcheck.yml",
    services: {
      rng: G(),
      hasher: R({
        replicas: 7,
        update: {
          parallelism: 1,
          delay: "5s",
          failure_action: "rollback",
          monitor: "5s",
          max_failure_ratio: 0.5,
        },
      }),
      webui: R(),
      redis: R(),
      worker: R({ replicas: 10 }),
    },
    more: (_plan, svc) => {
      expect(svc("rng").taskTemplate?.container?.image).toBe("127.0.0.1:5000/rng:latest");
      expect(svc("hasher").taskTemplate?.container?.healthcheck?.test).toEqual([
        "CMD-SHELL",
        "curl -f http://localhost/ || exit 1",
      ]);
    },
  },
  {
    file: "jpetazzo__container.training__prometheus+config.yml",
    services: { prometheus: R(), node: G(), cadvisor: G() },
    more: (plan, svc) => {
      expect(svc("node").taskTemplate?.container?.args.at(-1)).toBe("^(sys|proc|dev|host|etc)($|/)");
      expect(plan.configs[0]?.file).toBe("/prom/prometheus.yml");
    },
  },
  {
    file: "deviantony__docker-elk__docker-stack.yml",
    services: { elasticsearch: R({ replicas: 1 }), logstash: R({ replicas: 1 }), kibana: R({ replicas: 1 }) },
    more: (_plan, svc) => {
      expect(svc("elasticsearch").taskTemplate?.container?.env).toContain("discovery.type=single-node");
    },
  },
  {
    file: "swarmlibs__promstack__prometheus-docker-stack.tmpl.yml",
    env: PROMSTACK_ENV,
    services: {
      "prometheus-server": R({
        replicas: 1,
        constraints: MANAGER,
        maxReplicasPerNode: 1,
        update: PROMSTACK_UPDATE_30,
      }),
      prometheus: G({ constraints: PROM_HELPERS, limits: { memory: 64 * Mi }, update: PROMSTACK_UPDATE_15 }),
      "prometheus-scrape-config-provider": G({
        constraints: PROM_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_15,
      }),
      "prometheus-rule-provider": G({
        constraints: PROM_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_15,
      }),
      "prometheus-config-reloader": G({
        constraints: PROM_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_30,
      }),
    },
    more: (plan, svc) => {
      const reloader = svc("prometheus-config-reloader").taskTemplate?.container;
      expect(reloader?.configs[0]?.file?.mode).toBe(0o555);
      expect(svc("prometheus-server").taskTemplate?.container?.hostname).toBe(
        "replica-{{.Node.ID}}.prometheus.internal",
      );
      expect(svc("prometheus").taskTemplate?.container?.env).toContain(
        'PROMETHEUS_CLUSTER_NAME=${PROMETHEUS_CLUSTER_NAME:-{{ index .Service.Labels "com.docker.stack.namespace"}}}',
      );
      // The rule provider overrides command and configs of the anchored service it merges.
      expect(svc("prometheus-rule-provider").taskTemplate?.container?.args).toEqual([
        "--output-dir=/prometheus-configs.d/rules",
        "--prometheus-scrape-config-label=io.prometheus.rule",
      ]);
      expect(plan.networks.find((n) => n.key === "prometheus_internal")?.spec.internal).toBe(true);
      expect(plan.warnings.map((w) => [w.path, w.message])).toContainEqual([
        "configs.prometheus-prometheus.template_driver",
        "ignored: the content is used as written, not as a template",
      ]);
    },
  },
  {
    file: "swarmlibs__promstack__grafana-docker-stack.tmpl.yml",
    env: PROMSTACK_ENV,
    services: {
      grafana: R({ replicas: 1, constraints: MANAGER, maxReplicasPerNode: 1, update: PROMSTACK_UPDATE_30 }),
      "grafana-provisioning-config-reloader": G({
        constraints: GRAFANA_HELPERS,
        limits: { memory: 64 * Mi },
        update: { ...PROMSTACK_UPDATE_15, order: "start-first" },
      }),
      "grafana-dashboard-provider": G({
        constraints: GRAFANA_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_15,
      }),
      "grafana-provisioning-alerting-provider": G({
        constraints: GRAFANA_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_15,
      }),
      "grafana-provisioning-dashboard-provider": G({
        constraints: GRAFANA_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_15,
      }),
      "grafana-provisioning-datasource-provider": G({
        constraints: GRAFANA_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_15,
      }),
    },
    more: (_plan, svc) => {
      const env = svc("grafana").taskTemplate?.container?.env ?? [];
      expect(env).toContain("GF_SECURITY_ADMIN_USER=${GF_SECURITY_ADMIN_USER}");
      expect(env.some((e) => e.startsWith("GF_SMTP_HOST"))).toBe(false);
      expect(svc("grafana").taskTemplate?.container?.hosts).toEqual(["host-gateway host.docker.internal"]);
    },
  },
  {
    file: "swarmlibs__promstack__prometheus-docker-stack.yml",
    services: {
      "prometheus-server": R({
        replicas: 1,
        constraints: MANAGER,
        maxReplicasPerNode: 1,
        update: PROMSTACK_UPDATE_30,
      }),
      prometheus: G({ constraints: PROM_HELPERS, limits: { memory: 64 * Mi }, update: PROMSTACK_UPDATE_15 }),
      "prometheus-scrape-config-provider": G({
        constraints: PROM_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_15,
      }),
      "prometheus-rule-provider": G({
        constraints: PROM_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_15,
      }),
      "prometheus-config-reloader": G({
        constraints: PROM_HELPERS,
        limits: { memory: 64 * Mi },
        update: PROMSTACK_UPDATE_30,
      }),
    },
    more: (_plan, svc) => {
      expect(svc("prometheus-config-reloader").taskTemplate?.container?.configs[0]?.file?.mode).toBe(365);
      // Here the expression is not escaped: the default ends at the first "}", the rest is text,
      // so the Go template comes out whole.
      expect(svc("prometheus").taskTemplate?.container?.env).toEqual(
        expect.arrayContaining([
          'PROMETHEUS_CLUSTER_NAME={{ index .Service.Labels "com.docker.stack.namespace"}}',
          "PROMETHEUS_CLUSTER_REPLICA=replica-{{.Task.Slot}}",
        ]),
      );
    },
  },
  {
    file: "lucaslorentz__caddy-docker-proxy__distributed.yml",
    services: {
      caddy_server: R({ replicas: 3 }),
      caddy_controller: R(),
      whoami0: R(),
      whoami1: R(),
      whoami2: R(),
      whoami3: R(),
      echo_0: R(),
    },
    more: (plan, svc) => {
      expect(svc("caddy_server").labels.caddy_controlled_server).toBe("");
      expect(svc("caddy_server").endpointSpec?.ports.map((p) => [p.targetPort, p.protocol])).toEqual([
        [80, PortProtocol.TCP],
        [443, PortProtocol.TCP],
        [443, PortProtocol.UDP],
      ]);
      expect(svc("whoami2").taskTemplate?.container?.labels["caddy.reverse_proxy"]).toBe("{{upstreams 80}}");
      expect(plan.networks.find((n) => n.key === "caddy_controller")?.spec.ipam?.configs[0]?.subnet).toBe(
        "10.200.200.0/24",
      );
    },
  },
  {
    file: "crazy-max__swarm-cronjob__configs.yml",
    services: { test: R({ replicas: 0 }) },
    more: (_plan, svc) => {
      expect(svc("test").labels["swarm.cronjob.schedule"]).toBe("* * * * *");
      expect(svc("test").taskTemplate?.restartPolicy?.condition).toBe(RestartCondition.NONE);
    },
  },
  {
    file: "vegasbrianc__prometheus__docker-stack.yml",
    envFiles: ["grafana/config.monitoring"],
    services: {
      prometheus: R({ constraints: ["node.role==manager"] }),
      "node-exporter": G(),
      alertmanager: R({ constraints: ["node.role==manager"] }),
      cadvisor: G(),
      grafana: R({ constraints: ["node.role==manager"] }),
    },
    more: (_plan, svc) => {
      expect(svc("grafana").taskTemplate?.container?.user).toBe("472");
      expect(svc("grafana").taskTemplate?.container?.env).toEqual(["STUBBED=grafana/config.monitoring"]);
    },
  },
  {
    file: "docker-flow__docker-flow-proxy__stack.yml",
    services: {
      proxy: R({
        replicas: 2,
        limits: { memory: 50 * Mi },
        reservations: { memory: 20 * Mi },
        update: { parallelism: 1, delay: "10s" },
      }),
      docs: R({ replicas: 2, limits: { memory: 10 * Mi }, reservations: { memory: 5 * Mi } }),
      letsencrypt: R({ limits: { memory: 30 * Mi }, reservations: { memory: 20 * Mi } }),
    },
    more: (_plan, svc) => {
      expect(svc("proxy").taskTemplate?.container?.image).toBe("dockerflow/docker-flow-proxy:latest");
      expect(svc("proxy").labels["com.df.alertIf"]).toBe("@service_mem_limit:0.8");
    },
  },
  {
    file: "Kong__docker-kong__docker-compose.yml",
    services: {
      "kong-migrations": R(),
      "kong-migrations-up": R(),
      kong: R({ limits: { cpus: 2, memory: 2 * 1024 * Mi } }),
      db: R(),
    },
    more: (plan, svc) => {
      const kong = svc("kong");
      expect(kong.taskTemplate?.container?.user).toBe("kong");
      expect(kong.taskTemplate?.container?.mounts.map((m) => m.target)).toEqual(["/var/run/kong", "/tmp"]);
      expect(kong.endpointSpec?.ports.map((p) => [p.publishedPort, p.targetPort])).toEqual([
        [8000, 8000],
        [8443, 8443],
        [8001, 8001],
        [8444, 8444],
      ]);
      expect(kong.taskTemplate?.restartPolicy).toEqual({
        condition: RestartCondition.ON_FAILURE,
        delayMs: 50_000,
        maxAttempts: 5,
        windowMs: 10_000,
      });
      // Host addresses on short ports cannot be honoured by the routing mesh: warned about.
      expect(plan.warnings.filter((w) => w.message.startsWith("host_ip")).map((w) => w.message)).toEqual([
        "host_ip 0.0.0.0 is ignored: published ports listen on all addresses",
        "host_ip 127.0.0.1 is ignored: published ports listen on all addresses",
      ]);
    },
  },
  {
    file: "Mailu__Mailu__docker-compose-stack-simple.yml",
    envFiles: [".env"],
    services: Object.fromEntries(
      [
        "front",
        "redis",
        "imap",
        "smtp",
        "antispam",
        "antivirus",
        "webdav",
        "admin",
        "webmail",
        "fetchmail",
      ].map((n) => [n, R({ replicas: 1, constraints: MANAGER })]),
    ),
    more: (_plan, svc) => {
      expect(svc("front").endpointSpec?.ports).toHaveLength(9);
      expect(svc("front").endpointSpec?.ports.every((p) => p.publishMode === PublishMode.HOST)).toBe(true);
      expect(svc("fetchmail").taskTemplate?.logDriver).toEqual({ name: "none", options: {} });
      expect(svc("admin").taskTemplate?.container?.mounts.map((m) => m.source)).toEqual([
        "t_mailu_data",
        "t_mailu_dkim",
        "/var/run/docker.sock",
      ]);
    },
  },
];
