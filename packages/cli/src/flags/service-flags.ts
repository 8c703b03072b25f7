import {
  type ContainerSpec,
  EndpointMode,
  RestartCondition,
  type ServiceSpec,
  type TaskSpec,
  type UpdateConfig,
  UpdateFailureAction,
  UpdateOrder,
  type ValidationIssue,
  validateServiceSpec,
} from "@shoal/proto";
import { type Command, Option } from "commander";
import { usageError } from "../errors.js";
import {
  parseBytesFlag,
  parseChoice,
  parseConfigRef,
  parseCountFlag,
  parseCpusFlag,
  parseDurationFlag,
  parseKeyValue,
  parseMount,
  parsePlacementPref,
  parsePublish,
  parseRatioFlag,
  parseSecretRef,
  parseUlimit,
  placementPrefKey,
  publishKey,
} from "./values.js";

/** What commander hands the action of `service create` / `service update` (camel-cased flags). */
export type ServiceFlags = Partial<Record<string, string | string[] | boolean>>;

export type FlagsMode = "create" | "update";

export const SERVICE_MODES = ["replicated", "global", "replicated-job", "global-job"] as const;
const RESTART_CONDITIONS = ["none", "on-failure", "any"] as const;
const FAILURE_ACTIONS = ["pause", "continue", "rollback"] as const;
const ORDERS = ["stop-first", "start-first"] as const;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Scalar flags shared by create and update; set only when given, so update changes only them. */
const SCALARS: readonly [flags: string, description: string][] = [
  ["--replicas <n>", "number of tasks (replicated services; total completions for replicated jobs)"],
  ["--max-concurrent <n>", "tasks of a replicated job running at once"],
  ["--replicas-max-per-node <n>", "at most this many tasks per node (0 = no limit)"],
  ["--reserve-cpu <cpus>", "CPUs reserved for each task"],
  ["--reserve-memory <bytes>", "memory reserved for each task"],
  ["--limit-cpu <cpus>", "CPU limit of each task"],
  ["--limit-memory <bytes>", "memory limit of each task"],
  ["--limit-pids <n>", "process limit of each task (0 = unlimited)"],
  ["--restart-condition <cond>", "restart when: none, on-failure or any"],
  ["--restart-delay <duration>", "delay between restart attempts"],
  ["--restart-max-attempts <n>", "give up after this many restarts (0 = never)"],
  ["--restart-window <duration>", "window in which restarts are counted"],
  ["--update-parallelism <n>", "tasks updated at once (0 = all)"],
  ["--update-delay <duration>", "delay between updates of task batches"],
  ["--update-failure-action <action>", "on update failure: pause, continue or rollback"],
  ["--update-monitor <duration>", "how long each updated task is watched for failure"],
  ["--update-max-failure-ratio <ratio>", "share of failed tasks tolerated during an update (0-1)"],
  ["--update-order <order>", "stop-first or start-first"],
  ["--rollback-parallelism <n>", "tasks rolled back at once (0 = all)"],
  ["--rollback-delay <duration>", "delay between rollbacks of task batches"],
  ["--rollback-failure-action <action>", "on rollback failure: pause or continue"],
  ["--rollback-monitor <duration>", "how long each rolled-back task is watched for failure"],
  ["--rollback-max-failure-ratio <ratio>", "share of failed tasks tolerated during a rollback (0-1)"],
  ["--rollback-order <order>", "stop-first or start-first"],
  ["--hostname <name>", "container hostname (templates allowed, like {{.Task.Slot}})"],
  ["-u, --user <user>", "user[:group] the process runs as"],
  ["-w, --workdir <dir>", "working directory of the process"],
  ["--entrypoint <command>", "replace the image's entrypoint"],
  ["--stop-signal <signal>", "signal that stops the container"],
  ["--stop-grace-period <duration>", "time to wait before killing the container"],
  ["--health-cmd <command>", "command that checks health (run by a shell)"],
  ["--health-interval <duration>", "time between health checks"],
  ["--health-timeout <duration>", "time one check may take"],
  ["--health-retries <n>", "consecutive failures that make a task unhealthy"],
  ["--health-start-period <duration>", "grace period before failures count"],
  ["--health-start-interval <duration>", "time between checks during the start period"],
  ["--endpoint-mode <mode>", "vip or dnsrr"],
  ["--log-driver <name>", "logging driver of the tasks"],
];

const BOOLEANS: readonly [flags: string, description: string][] = [
  ["--read-only", "mount the container's root filesystem read-only"],
  ["--init", "run an init inside the container that reaps processes"],
  ["--no-healthcheck", "disable the image's health check"],
  ["-t, --tty", "allocate a pseudo-TTY"],
];

/** List flags: in create they set the list; in update each has `-add`/`-rm` twins (docker's names). */
const LISTS: readonly [name: string, value: string, description: string, short?: string][] = [
  ["constraint", "<expr>", "placement constraint, like node.role==manager"],
  ["placement-pref", "<pref>", "placement preference, like spread=node.labels.zone"],
  ["publish", "<port>", "publish a port: 8080:80[/udp] or published=8080,target=80,mode=host", "p"],
  ["env", "<KEY=VALUE>", "set an environment variable", "e"],
  ["label", "<KEY=VALUE>", "service label", "l"],
  ["container-label", "<KEY=VALUE>", "container label"],
  ["mount", "<mount>", "type=bind|volume|tmpfs,source=…,target=…[,readonly]"],
  ["secret", "<secret>", "secret to expose: NAME or source=NAME,target=FILE,mode=0400"],
  ["config", "<config>", "config to expose: NAME or source=NAME,target=/PATH,mode=0444"],
  ["network", "<network>", "network to attach"],
  ["sysctl", "<KEY=VALUE>", "kernel parameter of the container"],
  ["ulimit", "<NAME=SOFT[:HARD]>", "resource limit, like nofile=1024:2048"],
  ["dns", "<ip>", "DNS server"],
  ["dns-search", "<domain>", "DNS search domain"],
  ["dns-option", "<option>", "DNS option"],
  ["group", "<group>", "supplementary group of the process"],
  ["log-opt", "<KEY=VALUE>", "logging driver option"],
];

/** docker names the /etc/hosts flag `--host` on create; shoal's global -H/--host is the manager. */
const HOSTS_FLAG = { create: "add-host", update: "host" } as const;

export function addServiceFlags(command: Command, mode: FlagsMode): Command {
  if (mode === "create") {
    command.option("--name <name>", "service name");
    command.addOption(
      new Option("--mode <mode>", "service mode").choices(SERVICE_MODES).default("replicated"),
    );
  } else {
    command.option("--image <image>", "new image");
    command.option("--args <command>", "new command arguments (split like a shell)");
    command.option("--force", "replace the tasks even if nothing changed");
    command.option("--rollback", "go back to the previous spec");
  }
  for (const [flags, description] of SCALARS) command.option(flags, description);
  for (const [flags, description] of BOOLEANS) command.option(flags, description);
  for (const [name, value, description, short] of LISTS) {
    if (mode === "create") {
      command.option(`${short === undefined ? "" : `-${short}, `}--${name} ${value}`, description, collect);
    } else {
      command.option(`--${name}-add ${value}`, `add: ${description}`, collect);
      command.option(`--${name}-rm ${rmValue(name, value)}`, `remove (${rmWhat(name)})`, collect);
    }
  }
  if (mode === "create") {
    command.option(`--${HOSTS_FLAG.create} <host:ip>`, "add a line to /etc/hosts", collect);
    command.option("--cap-add <capability>", "add a Linux capability", collect);
    command.option("--cap-drop <capability>", "drop a Linux capability", collect);
  } else {
    command.option(`--${HOSTS_FLAG.update}-add <host:ip>`, "add a line to /etc/hosts", collect);
    command.option(`--${HOSTS_FLAG.update}-rm <host>`, "remove the /etc/hosts lines of a host", collect);
    command.option("--cap-add <capability>", "add a Linux capability", collect);
    command.option("--cap-drop <capability>", "drop a Linux capability", collect);
  }
  command.option("-d, --detach", "return at once instead of waiting for the service to converge");
  command.option("-q, --quiet", "print only the service id, no progress");
  return command;
}

function rmValue(name: string, value: string): string {
  if (name === "publish") return "<port[/proto]>";
  if (name === "mount") return "<target>";
  if (value === "<KEY=VALUE>") return "<KEY>";
  if (name === "ulimit") return "<NAME>";
  return value;
}

function rmWhat(name: string): string {
  switch (name) {
    case "publish":
      return "by published or target port";
    case "mount":
      return "by target";
    case "env":
    case "label":
    case "container-label":
    case "sysctl":
    case "log-opt":
      return "by key";
    default:
      return `by ${name === "ulimit" ? "name" : "value"}`;
  }
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function str(opts: ServiceFlags, flag: string): string | undefined {
  const v = opts[camel(flag)];
  return typeof v === "string" ? v : undefined;
}

function list(opts: ServiceFlags, flag: string): string[] {
  const v = opts[camel(flag)];
  return Array.isArray(v) ? v : [];
}

function has(opts: ServiceFlags, flag: string): boolean {
  return opts[camel(flag)] !== undefined;
}

/** Commander gives `--no-healthcheck` as `healthcheck: false`. */
function noHealthcheck(opts: ServiceFlags): boolean {
  return opts.healthcheck === false;
}

function taskTemplate(spec: ServiceSpec): TaskSpec & { container: ContainerSpec } {
  spec.taskTemplate ??= { networks: [], forceUpdate: 0 };
  const t = spec.taskTemplate;
  t.container ??= {
    image: "",
    labels: {},
    command: [],
    args: [],
    hostname: "",
    env: [],
    dir: "",
    user: "",
    groups: [],
    tty: false,
    openStdin: false,
    readOnly: false,
    stopSignal: "",
    mounts: [],
    secrets: [],
    configs: [],
    hosts: [],
    capAdd: [],
    capDrop: [],
    securityOpt: [],
    sysctls: {},
    ulimits: [],
  };
  return t as TaskSpec & { container: ContainerSpec };
}

function resources(spec: ServiceSpec, which: "limits" | "reservations") {
  const t = taskTemplate(spec);
  t.resources ??= {};
  t.resources[which] ??= { nanoCpus: 0, memoryBytes: 0, pids: 0, generic: [] };
  return t.resources[which];
}

function updateConfig(spec: ServiceSpec, which: "update" | "rollback"): UpdateConfig {
  const key = which === "update" ? "updateConfig" : "rollbackConfig";
  spec[key] ??= {
    delayMs: 0,
    failureAction: UpdateFailureAction.UNSPECIFIED,
    maxFailureRatio: 0,
    order: UpdateOrder.UNSPECIFIED,
  };
  return spec[key];
}

/** Builds the spec `service create IMAGE [ARG…]` sends. */
export function specFromCreateFlags(image: string, args: readonly string[], opts: ServiceFlags): ServiceSpec {
  const spec: ServiceSpec = { name: str(opts, "name") ?? nameFromImage(image), labels: {} };
  const container = taskTemplate(spec).container;
  container.image = image;
  container.args = [...args];
  const mode = parseChoice("--mode", str(opts, "mode") ?? "replicated", SERVICE_MODES);
  switch (mode) {
    case "replicated":
      spec.mode = { $case: "replicated", value: {} };
      break;
    case "global":
      spec.mode = { $case: "global", value: {} };
      break;
    case "replicated-job":
      spec.mode = { $case: "replicatedJob", value: {} };
      break;
    case "global-job":
      spec.mode = { $case: "globalJob", value: {} };
      break;
  }
  // Lists in create are the same code path as `-add` in update, on an empty spec.
  const asAdds: ServiceFlags = { ...opts };
  for (const [name] of LISTS) asAdds[camel(`${name}-add`)] = opts[camel(name)];
  asAdds[camel(`${HOSTS_FLAG.update}-add`)] = opts[camel(HOSTS_FLAG.create)];
  applyFlags(spec, asAdds, "create");
  return spec;
}

/** Applies `service update` flags to a copy of the current spec; the spec given is not changed. */
export function specFromUpdateFlags(current: ServiceSpec, opts: ServiceFlags): ServiceSpec {
  const spec = structuredClone(current);
  const image = str(opts, "image");
  if (image !== undefined) taskTemplate(spec).container.image = image;
  const args = str(opts, "args");
  if (args !== undefined) taskTemplate(spec).container.args = splitArgs(args);
  applyFlags(spec, opts, "update");
  if (opts.force === true) {
    const t = taskTemplate(spec);
    t.forceUpdate = (t.forceUpdate ?? 0) + 1;
  }
  return spec;
}

/** Without --name a service is named after its image (`registry/team/web:1.2` → `web`). */
export function nameFromImage(image: string): string {
  const last = image.split("@")[0]?.split("/").pop() ?? "";
  const name = (last.split(":")[0] ?? "").toLowerCase().replace(/[^a-z0-9_-]+/g, "-");
  return name.replace(/^[-_]+|[-_]+$/g, "");
}

function splitArgs(value: string): string[] {
  return (value.match(/(?:[^\s"']|"[^"]*"|'[^']*')+/g) ?? []).map((w) => w.replace(/^(["'])(.*)\1$/, "$2"));
}

function applyFlags(spec: ServiceSpec, opts: ServiceFlags, mode: FlagsMode): void {
  const t = taskTemplate(spec);
  const c = t.container;

  const replicas = str(opts, "replicas");
  if (replicas !== undefined) {
    const n = parseCountFlag("--replicas", replicas);
    if (spec.mode?.$case === "replicated") spec.mode.value.replicas = n;
    else if (spec.mode?.$case === "replicatedJob") spec.mode.value.totalCompletions = n;
    else
      throw usageError(
        `--replicas: a ${modeName(spec)} service has no replica count`,
        "use --mode replicated",
      );
  }
  const maxConcurrent = str(opts, "max-concurrent");
  if (maxConcurrent !== undefined) {
    if (spec.mode?.$case !== "replicatedJob") {
      throw usageError(`--max-concurrent: only replicated-job services take it, not ${modeName(spec)}`);
    }
    spec.mode.value.maxConcurrent = parseCountFlag("--max-concurrent", maxConcurrent);
  }
  const perNode = str(opts, "replicas-max-per-node");
  if (perNode !== undefined)
    placement(t).maxReplicasPerNode = parseCountFlag("--replicas-max-per-node", perNode);

  const cpus: [string, "limits" | "reservations"][] = [
    ["reserve-cpu", "reservations"],
    ["limit-cpu", "limits"],
  ];
  for (const [flag, which] of cpus) {
    const v = str(opts, flag);
    if (v !== undefined) resources(spec, which).nanoCpus = parseCpusFlag(`--${flag}`, v);
  }
  const memory: [string, "limits" | "reservations"][] = [
    ["reserve-memory", "reservations"],
    ["limit-memory", "limits"],
  ];
  for (const [flag, which] of memory) {
    const v = str(opts, flag);
    if (v !== undefined) resources(spec, which).memoryBytes = parseBytesFlag(`--${flag}`, v);
  }
  const pids = str(opts, "limit-pids");
  if (pids !== undefined) resources(spec, "limits").pids = parseCountFlag("--limit-pids", pids);

  applyRestart(t, opts);
  applyUpdateConfig(spec, opts, "update");
  applyUpdateConfig(spec, opts, "rollback");

  const hostname = str(opts, "hostname");
  if (hostname !== undefined) c.hostname = hostname;
  const user = str(opts, "user");
  if (user !== undefined) c.user = user;
  const workdir = str(opts, "workdir");
  if (workdir !== undefined) c.dir = workdir;
  const entrypoint = str(opts, "entrypoint");
  if (entrypoint !== undefined) c.command = splitArgs(entrypoint);
  const stopSignal = str(opts, "stop-signal");
  if (stopSignal !== undefined) c.stopSignal = stopSignal;
  const grace = str(opts, "stop-grace-period");
  if (grace !== undefined) c.stopGracePeriodMs = parseDurationFlag("--stop-grace-period", grace);
  if (opts.readOnly === true) c.readOnly = true;
  if (opts.init === true) c.init = true;
  if (opts.tty === true) c.tty = true;
  applyHealth(c, opts);
  const endpointMode = str(opts, "endpoint-mode");
  if (endpointMode !== undefined) {
    const m = parseChoice("--endpoint-mode", endpointMode, ["vip", "dnsrr"] as const);
    spec.endpointSpec ??= { mode: EndpointMode.UNSPECIFIED, ports: [] };
    spec.endpointSpec.mode = m === "vip" ? EndpointMode.VIP : EndpointMode.DNSRR;
  }
  const logDriver = str(opts, "log-driver");
  if (logDriver !== undefined) t.logDriver = { name: logDriver, options: t.logDriver?.options ?? {} };

  applyLists(spec, opts, mode);
}

function modeName(spec: ServiceSpec): string {
  switch (spec.mode?.$case) {
    case "global":
      return "global";
    case "replicatedJob":
      return "replicated-job";
    case "globalJob":
      return "global-job";
    default:
      return "replicated";
  }
}

function placement(t: TaskSpec) {
  t.placement ??= { constraints: [], preferences: [], maxReplicasPerNode: 0, platforms: [] };
  return t.placement;
}

function applyRestart(t: TaskSpec, opts: ServiceFlags): void {
  const condition = str(opts, "restart-condition");
  const delay = str(opts, "restart-delay");
  const attempts = str(opts, "restart-max-attempts");
  const window = str(opts, "restart-window");
  if (condition === undefined && delay === undefined && attempts === undefined && window === undefined)
    return;
  t.restartPolicy ??= { condition: RestartCondition.UNSPECIFIED, maxAttempts: 0, windowMs: 0 };
  const p = t.restartPolicy;
  if (condition !== undefined) {
    const c = parseChoice("--restart-condition", condition, RESTART_CONDITIONS);
    p.condition =
      c === "none"
        ? RestartCondition.NONE
        : c === "on-failure"
          ? RestartCondition.ON_FAILURE
          : RestartCondition.ANY;
  }
  if (delay !== undefined) p.delayMs = parseDurationFlag("--restart-delay", delay);
  if (attempts !== undefined) p.maxAttempts = parseCountFlag("--restart-max-attempts", attempts);
  if (window !== undefined) p.windowMs = parseDurationFlag("--restart-window", window);
}

function applyUpdateConfig(spec: ServiceSpec, opts: ServiceFlags, which: "update" | "rollback"): void {
  const f = (name: string) => `${which}-${name}`;
  const names = ["parallelism", "delay", "failure-action", "monitor", "max-failure-ratio", "order"];
  if (!names.some((n) => has(opts, f(n)))) return;
  const u = updateConfig(spec, which);
  const parallelism = str(opts, f("parallelism"));
  if (parallelism !== undefined) u.parallelism = parseCountFlag(`--${f("parallelism")}`, parallelism);
  const delay = str(opts, f("delay"));
  if (delay !== undefined) u.delayMs = parseDurationFlag(`--${f("delay")}`, delay);
  const action = str(opts, f("failure-action"));
  if (action !== undefined) {
    const choices = which === "update" ? FAILURE_ACTIONS : (["pause", "continue"] as const);
    const a = parseChoice(`--${f("failure-action")}`, action, choices);
    u.failureAction =
      a === "pause"
        ? UpdateFailureAction.PAUSE
        : a === "continue"
          ? UpdateFailureAction.CONTINUE
          : UpdateFailureAction.ROLLBACK;
  }
  const monitor = str(opts, f("monitor"));
  if (monitor !== undefined) u.monitorMs = parseDurationFlag(`--${f("monitor")}`, monitor);
  const ratio = str(opts, f("max-failure-ratio"));
  if (ratio !== undefined) u.maxFailureRatio = parseRatioFlag(`--${f("max-failure-ratio")}`, ratio);
  const order = str(opts, f("order"));
  if (order !== undefined) {
    u.order =
      parseChoice(`--${f("order")}`, order, ORDERS) === "start-first"
        ? UpdateOrder.START_FIRST
        : UpdateOrder.STOP_FIRST;
  }
}

function applyHealth(c: ContainerSpec, opts: ServiceFlags): void {
  const durations: [string, "intervalMs" | "timeoutMs" | "startPeriodMs" | "startIntervalMs"][] = [
    ["health-interval", "intervalMs"],
    ["health-timeout", "timeoutMs"],
    ["health-start-period", "startPeriodMs"],
    ["health-start-interval", "startIntervalMs"],
  ];
  const cmd = str(opts, "health-cmd");
  const retries = str(opts, "health-retries");
  const touched = cmd !== undefined || retries !== undefined || durations.some(([flag]) => has(opts, flag));
  if (noHealthcheck(opts)) {
    if (touched) throw usageError("--no-healthcheck conflicts with the --health-* options");
    c.healthcheck = { test: ["NONE"] };
    return;
  }
  if (!touched) return;
  c.healthcheck ??= { test: [] };
  const h = c.healthcheck;
  if (cmd !== undefined) h.test = ["CMD-SHELL", cmd];
  if (retries !== undefined) h.retries = parseCountFlag("--health-retries", retries);
  for (const [flag, key] of durations) {
    const v = str(opts, flag);
    if (v !== undefined) h[key] = parseDurationFlag(`--${flag}`, v);
  }
}

/** Adds then removes, so `--x-rm a --x-add a` keeps a (docker removes first; the result is the same for distinct keys). */
function applyLists(spec: ServiceSpec, opts: ServiceFlags, mode: FlagsMode): void {
  const t = taskTemplate(spec);
  const c = t.container;
  const add = (name: string) => list(opts, `${name}-add`);
  const rm = (name: string) => (mode === "update" ? list(opts, `${name}-rm`) : []);
  const keyOf = (entry: string) => entry.split("=", 1)[0] as string;

  // env: KEY=VALUE entries; a later KEY replaces an earlier one.
  for (const e of add("env")) parseKeyValue("--env", e);
  c.env = upsertByKey(c.env, add("env"), rm("env"), keyOf);

  for (const [name, target] of [
    ["label", () => spec.labels],
    ["container-label", () => c.labels],
    ["sysctl", () => c.sysctls],
  ] as const) {
    const map = target();
    for (const key of rm(name)) delete map[key];
    for (const entry of add(name)) {
      const [k, v] = parseKeyValue(`--${mode === "create" ? name : `${name}-add`}`, entry);
      map[k] = v;
    }
  }
  const logOpts = add("log-opt");
  if (logOpts.length > 0 || rm("log-opt").length > 0) {
    t.logDriver ??= { name: "", options: {} };
    for (const key of rm("log-opt")) delete t.logDriver.options[key];
    for (const entry of logOpts) {
      const [k, v] = parseKeyValue("--log-opt", entry);
      t.logDriver.options[k] = v;
    }
  }

  if (add("constraint").length > 0 || rm("constraint").length > 0) {
    const p = placement(t);
    p.constraints = upsert(
      p.constraints.filter((x) => !rm("constraint").includes(x)),
      add("constraint"),
    );
  }
  if (add("placement-pref").length > 0 || rm("placement-pref").length > 0) {
    const p = placement(t);
    const gone = new Set(
      rm("placement-pref").map((v) => placementPrefKey(parsePlacementPref("--placement-pref-rm", v))),
    );
    p.preferences = [
      ...p.preferences.filter((x) => !gone.has(placementPrefKey(x))),
      ...add("placement-pref").map((v) => parsePlacementPref(flagName("placement-pref", mode), v)),
    ];
  }

  if (add("publish").length > 0 || rm("publish").length > 0) {
    spec.endpointSpec ??= { mode: EndpointMode.UNSPECIFIED, ports: [] };
    const removed = rm("publish");
    const kept = spec.endpointSpec.ports.filter((p) => !removed.some((r) => publishMatches(p, r)));
    const added = add("publish").flatMap((v) => parsePublish(flagName("publish", mode), v));
    spec.endpointSpec.ports = [
      ...kept.filter((p) => !added.some((a) => publishKey(a) === publishKey(p))),
      ...added,
    ];
  }

  if (add("mount").length > 0 || rm("mount").length > 0) {
    const added = add("mount").map((v) => parseMount(flagName("mount", mode), v));
    const gone = new Set([...rm("mount"), ...added.map((m) => m.target)]);
    c.mounts = [...c.mounts.filter((m) => !gone.has(m.target)), ...added];
  }
  if (add("secret").length > 0 || rm("secret").length > 0) {
    const added = add("secret").map((v) => parseSecretRef(flagName("secret", mode), v));
    const gone = new Set([...rm("secret"), ...added.map((s) => s.secretName)]);
    c.secrets = [...c.secrets.filter((s) => !gone.has(s.secretName) && !gone.has(s.secretId)), ...added];
  }
  if (add("config").length > 0 || rm("config").length > 0) {
    const added = add("config").map((v) => parseConfigRef(flagName("config", mode), v));
    const gone = new Set([...rm("config"), ...added.map((s) => s.configName)]);
    c.configs = [...c.configs.filter((s) => !gone.has(s.configName) && !gone.has(s.configId)), ...added];
  }
  if (add("network").length > 0 || rm("network").length > 0) {
    const added = add("network");
    const gone = new Set([...rm("network"), ...added]);
    t.networks = [
      ...t.networks.filter((n) => !gone.has(n.target)),
      ...added.map((target) => ({ target, aliases: [], driverOpts: {} })),
    ];
  }
  if (add("ulimit").length > 0 || rm("ulimit").length > 0) {
    const added = add("ulimit").map((v) => parseUlimit(flagName("ulimit", mode), v));
    const gone = new Set([...rm("ulimit"), ...added.map((u) => u.name)]);
    c.ulimits = [...c.ulimits.filter((u) => !gone.has(u.name)), ...added];
  }
  for (const [name, field] of [
    ["dns", "nameservers"],
    ["dns-search", "search"],
    ["dns-option", "options"],
  ] as const) {
    if (add(name).length === 0 && rm(name).length === 0) continue;
    c.dnsConfig ??= { nameservers: [], search: [], options: [] };
    c.dnsConfig[field] = upsert(
      c.dnsConfig[field].filter((x) => !rm(name).includes(x)),
      add(name),
    );
  }
  c.groups = upsert(
    c.groups.filter((x) => !rm("group").includes(x)),
    add("group"),
  );

  const hostsAdd = list(opts, `${HOSTS_FLAG.update}-add`);
  const hostsRm = mode === "update" ? list(opts, `${HOSTS_FLAG.update}-rm`) : [];
  if (hostsAdd.length > 0 || hostsRm.length > 0) {
    const lines = hostsAdd.map((h) =>
      hostLine(mode === "create" ? `--${HOSTS_FLAG.create}` : `--${HOSTS_FLAG.update}-add`, h),
    );
    c.hosts = upsert(
      c.hosts.filter(
        (line) =>
          !hostsRm.some((h) =>
            line
              .split(/\s+/)
              .slice(1)
              .includes(h.split(":")[0] as string),
          ),
      ),
      lines,
    );
  }

  // --cap-add/--cap-drop have the same names in update, as docker: adding undoes a drop and back.
  const capAdd = list(opts, "cap-add").map((x) => x.toUpperCase());
  const capDrop = list(opts, "cap-drop").map((x) => x.toUpperCase());
  if (capAdd.length > 0 || capDrop.length > 0) {
    c.capAdd = upsert(
      c.capAdd.filter((x) => !capDrop.includes(x)),
      capAdd,
    );
    c.capDrop = upsert(
      c.capDrop.filter((x) => !capAdd.includes(x)),
      capDrop,
    );
  }
}

function flagName(name: string, mode: FlagsMode): string {
  return mode === "create" ? `--${name}` : `--${name}-add`;
}

/** `--add-host name:ip` (docker's order) → the hosts-file line `ip name`. */
function hostLine(flag: string, value: string): string {
  const at = value.indexOf(":");
  if (at <= 0 || at === value.length - 1) throw usageError(`${flag} "${value}": write it as HOST:IP`);
  return `${value.slice(at + 1)} ${value.slice(0, at)}`;
}

function publishMatches(
  port: ServiceSpec["endpointSpec"] extends infer E ? (E extends { ports: (infer P)[] } ? P : never) : never,
  removal: string,
): boolean {
  const [num, proto = "tcp"] = removal.split("/");
  const key = publishKey(port);
  const [, portProto] = key.split("/");
  if (portProto !== proto) return false;
  return String(port.publishedPort) === num || String(port.targetPort) === num;
}

function upsert(list: readonly string[], added: readonly string[]): string[] {
  const out = [...list];
  for (const a of added) if (!out.includes(a)) out.push(a);
  return out;
}

function upsertByKey(
  list: readonly string[],
  added: readonly string[],
  removed: readonly string[],
  keyOf: (s: string) => string,
): string[] {
  const addedKeys = new Set(added.map(keyOf));
  const out = list.filter((e) => !removed.includes(keyOf(e)) && !addedKeys.has(keyOf(e)));
  const seen = new Map<string, string>();
  for (const a of added) seen.set(keyOf(a), a);
  return [...out, ...seen.values()];
}

/** Proto field paths → the flag that sets them, longest prefix first. */
const FLAG_BY_PATH: readonly [prefix: string, flag: string][] = [
  ["mode.replicated.replicas", "--replicas"],
  ["mode.replicated_job.total_completions", "--replicas"],
  ["mode.replicated_job.max_concurrent", "--max-concurrent"],
  ["task_template.resources.reservations.nano_cpus", "--reserve-cpu"],
  ["task_template.resources.reservations.memory_bytes", "--reserve-memory"],
  ["task_template.resources.limits.nano_cpus", "--limit-cpu"],
  ["task_template.resources.limits.memory_bytes", "--limit-memory"],
  ["task_template.resources.limits.pids", "--limit-pids"],
  ["task_template.resources", "--reserve-*/--limit-*"],
  ["task_template.restart_policy.condition", "--restart-condition"],
  ["task_template.restart_policy.delay_ms", "--restart-delay"],
  ["task_template.restart_policy.max_attempts", "--restart-max-attempts"],
  ["task_template.restart_policy.window_ms", "--restart-window"],
  ["task_template.placement.constraints", "--constraint"],
  ["task_template.placement.preferences", "--placement-pref"],
  ["task_template.placement.max_replicas_per_node", "--replicas-max-per-node"],
  ["task_template.networks", "--network"],
  ["task_template.log_driver", "--log-driver"],
  ["task_template.container.image", "IMAGE"],
  ["task_template.container.env", "--env"],
  ["task_template.container.mounts", "--mount"],
  ["task_template.container.secrets", "--secret"],
  ["task_template.container.configs", "--config"],
  ["task_template.container.healthcheck", "--health-*"],
  ["task_template.container.hosts", "--add-host"],
  ["task_template.container.stop_signal", "--stop-signal"],
  ["task_template.container.stop_grace_period_ms", "--stop-grace-period"],
  ["task_template.container.ulimits", "--ulimit"],
  ["task_template.container.sysctls", "--sysctl"],
  ["task_template.container.labels", "--container-label"],
  ["update_config.parallelism", "--update-parallelism"],
  ["update_config.delay_ms", "--update-delay"],
  ["update_config.failure_action", "--update-failure-action"],
  ["update_config.monitor_ms", "--update-monitor"],
  ["update_config.max_failure_ratio", "--update-max-failure-ratio"],
  ["update_config.order", "--update-order"],
  ["rollback_config.parallelism", "--rollback-parallelism"],
  ["rollback_config.delay_ms", "--rollback-delay"],
  ["rollback_config.failure_action", "--rollback-failure-action"],
  ["rollback_config.monitor_ms", "--rollback-monitor"],
  ["rollback_config.max_failure_ratio", "--rollback-max-failure-ratio"],
  ["rollback_config.order", "--rollback-order"],
  ["endpoint_spec.ports", "--publish"],
  ["endpoint_spec", "--endpoint-mode"],
  ["labels", "--label"],
  ["name", "--name"],
];

/** Rewrites a validation issue to name the flag: `--reserve-memory: 1MiB is below the 4MiB minimum`. */
export function issueAsFlag(issue: ValidationIssue): string {
  const hit = FLAG_BY_PATH.find(
    ([prefix]) =>
      issue.path === prefix || issue.path.startsWith(`${prefix}.`) || issue.path.startsWith(`${prefix}[`),
  );
  if (hit === undefined) return issue.message;
  const text = issue.message.startsWith(`${issue.path}: `)
    ? issue.message.slice(issue.path.length + 2)
    : issue.message;
  return `${hit[1]}: ${text}`;
}

/**
 * Checks the spec with the manager's own rules before sending it, so a bad value is reported
 * against the flag (`--limit-memory: …`) rather than as a proto path.
 */
export function assertValidFlags(spec: ServiceSpec): void {
  const issues = validateServiceSpec(spec);
  if (issues.length === 0) return;
  const lines = issues.map(issueAsFlag);
  throw usageError(
    lines.length === 1 ? (lines[0] as string) : `${lines.length} problems:\n  ${lines.join("\n  ")}`,
    "fix the options named above",
  );
}
