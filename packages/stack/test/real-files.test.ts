// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose variable references and Go templates, not JS templates
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  type ServiceSpec,
  ServiceSpec as ServiceSpecCodec,
  UpdateFailureAction,
  UpdateOrder,
  validateConfigSpec,
  validateNetworkSpec,
  validateSecretSpec,
  validateServiceSpec,
} from "@shoal/proto";
import { afterAll, describe, expect, it } from "vitest";
import { convertStack, loadStackFiles, readStackFiles } from "../src/index.js";
import { loadFromText, readTestdata, TESTDATA } from "./helpers.js";
import { CASES, type Case, type Expected } from "./real-files-cases.js";

const MODE_NAMES = {
  replicated: "replicated",
  global: "global",
  replicatedJob: "replicated-job",
  globalJob: "global-job",
} as const;
const ACTION_NAMES: Record<number, string> = {
  [UpdateFailureAction.PAUSE]: "pause",
  [UpdateFailureAction.CONTINUE]: "continue",
  [UpdateFailureAction.ROLLBACK]: "rollback",
};
const ORDER_NAMES: Record<number, string> = {
  [UpdateOrder.STOP_FIRST]: "stop-first",
  [UpdateOrder.START_FIRST]: "start-first",
};

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Reads the same facts back out of a ServiceSpec, leaving out what is unset. */
function summarize(s: ServiceSpec): Expected {
  const out: Expected = { mode: MODE_NAMES[s.mode!.$case] };
  if (s.mode?.$case === "replicated" && s.mode.value.replicas !== undefined)
    out.replicas = s.mode.value.replicas;
  const p = s.taskTemplate?.placement;
  if (p !== undefined && p.constraints.length > 0) out.constraints = p.constraints;
  if (p !== undefined && p.maxReplicasPerNode > 0) out.maxReplicasPerNode = p.maxReplicasPerNode;
  for (const key of ["limits", "reservations"] as const) {
    const r = s.taskTemplate?.resources?.[key];
    if (r === undefined) continue;
    const v: { cpus?: number; memory?: number } = {};
    if (r.nanoCpus > 0) v.cpus = r.nanoCpus / 1e9;
    if (r.memoryBytes > 0) v.memory = r.memoryBytes;
    out[key] = v;
  }
  const u = s.updateConfig;
  if (u !== undefined) {
    const v: NonNullable<Expected["update"]> = {};
    if (u.parallelism !== undefined) v.parallelism = u.parallelism;
    if (u.delayMs > 0) v.delay = seconds(u.delayMs);
    if (ACTION_NAMES[u.failureAction] !== undefined) v.failure_action = ACTION_NAMES[u.failureAction];
    if (u.monitorMs !== undefined) v.monitor = seconds(u.monitorMs);
    if (u.maxFailureRatio > 0) v.max_failure_ratio = u.maxFailureRatio;
    if (ORDER_NAMES[u.order] !== undefined) v.order = ORDER_NAMES[u.order];
    out.update = v;
  }
  return out;
}

function load(c: Case) {
  const workingDir = "/repo";
  const files = Object.fromEntries((c.envFiles ?? []).map((f) => [`${workingDir}/${f}`, `STUBBED=${f}\n`]));
  return loadFromText([{ name: c.file, text: readTestdata("real", c.file) }], {
    env: c.env ?? {},
    files,
    workingDir,
  });
}

describe("the 24 real-world stack files", () => {
  it("has a case for every file in testdata/real", () => {
    const onDisk = readdirSync(join(TESTDATA, "real")).filter((f) => f.endsWith(".yml"));
    expect(CASES.map((c) => c.file).sort()).toEqual(onDisk.sort());
    expect(onDisk).toHaveLength(24);
  });

  for (const c of CASES) {
    it(`${c.file}: services, replicas, modes, constraints, limits, update configs`, () => {
      const plan = convertStack(load(c).config, "t");
      expect(plan.services.map((s) => s.name).sort()).toEqual(
        Object.keys(c.services)
          .map((n) => `t_${n}`)
          .sort(),
      );
      const got = Object.fromEntries(plan.services.map((s) => [s.name.slice(2), summarize(s)]));
      expect(got).toEqual(c.services);
      // Every spec survives the wire encoding the API uses …
      for (const s of plan.services)
        expect(ServiceSpecCodec.decode(ServiceSpecCodec.encode(s).finish())).toEqual(s);
      // … and passes the control API's validation once the referenced files are read (stubbed).
      const read = readStackFiles(
        plan,
        (p) => new TextEncoder().encode(`stub ${p}`),
        () => "stub",
      );
      const issues = [
        ...read.services.flatMap((s) => validateServiceSpec(s)),
        ...read.networks.filter((n) => !n.external).flatMap((n) => validateNetworkSpec(n.spec)),
        ...read.secrets.filter((x) => !x.external).flatMap((x) => validateSecretSpec(x.spec)),
        ...read.configs.filter((x) => !x.external).flatMap((x) => validateConfigSpec(x.spec)),
      ];
      expect(issues).toEqual([]);
      c.more?.(plan, (name) => {
        const s = plan.services.find((x) => x.name === `t_${name}`);
        if (s === undefined) throw new Error(`no service ${name}`);
        return s;
      });
    });
  }
});

describe("real files from disk, with the files they reference stubbed in a temporary copy", () => {
  const dir = mkdtempSync(join(tmpdir(), "shoal-stack-real-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads swarmprom with its configs, and reads them only at deploy time", () => {
    const file = join(dir, "swarmprom.yml");
    writeFileSync(file, readTestdata("real", "stefanprodan__swarmprom__docker-compose.yml"));
    const loaded = loadStackFiles([file], { env: {} });
    const plan = convertStack(loaded.config, "mon");
    expect(plan.configs.map((c) => c.file)).toContain(join(dir, "caddy/Caddyfile"));
    // The referenced files are missing: the deploy-time read names the path.
    expect(() =>
      readStackFiles(
        plan,
        () => undefined,
        () => undefined,
      ),
    ).toThrow(`config "caddy_config": cannot read file "${join(dir, "caddy/Caddyfile")}"`);
    for (const c of plan.configs) {
      mkdirSync(dirname(c.file!), { recursive: true });
      writeFileSync(c.file!, `stub for ${c.key}\n`);
    }
    const read = readStackFiles(
      plan,
      (p) => new Uint8Array(readFileSync(p)),
      () => undefined,
    );
    expect(new TextDecoder().decode(read.configs[0]!.spec.data)).toBe("stub for caddy_config\n");
  });

  it("reads the .env beside the first file for interpolation; the process environment wins", () => {
    const file = join(dir, "kong.yml");
    writeFileSync(file, readTestdata("real", "Kong__docker-kong__docker-compose.yml"));
    writeFileSync(join(dir, "POSTGRES_PASSWORD"), "pw\n");
    writeFileSync(join(dir, ".env"), "KONG_DOCKER_TAG=kong:2.5\nKONG_USER='root'\n");
    const loaded = loadStackFiles([file], { env: { KONG_USER: "nobody" } });
    expect(loaded.config.services.kong?.image).toBe("kong:2.5");
    expect(loaded.config.services.kong?.user).toBe("nobody");
  });
});
