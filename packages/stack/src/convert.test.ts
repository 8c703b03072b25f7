import { RestartCondition } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { convertStack } from "./convert.js";
import { STACK_NAMESPACE_LABEL } from "./convert-context.js";
import { loadStack } from "./load.js";
import { readStackFiles } from "./read-stack-files.js";

function plan(text: string, env: Record<string, string> = {}) {
  const loaded = loadStack({
    files: [{ name: "s.yml", text }],
    workingDir: "/w",
    env,
    readFile: () => undefined,
  });
  return convertStack(loaded.config, "app");
}

describe("convertStack", () => {
  it("maps the four deploy modes", () => {
    const p = plan(`
services:
  a: {image: x}
  b: {image: x, deploy: {mode: global}}
  c: {image: x, deploy: {mode: replicated-job, replicas: 4}}
  d: {image: x, deploy: {mode: global-job}}
  e: {image: x, deploy: {replicas: 0}}
`);
    expect(p.services.map((s) => [s.name, s.mode])).toEqual([
      ["app_a", { $case: "replicated", value: {} }],
      ["app_b", { $case: "global", value: {} }],
      ["app_c", { $case: "replicatedJob", value: { maxConcurrent: 4, totalCompletions: 4 } }],
      ["app_d", { $case: "globalJob", value: {} }],
      ["app_e", { $case: "replicated", value: { replicas: 0 } }],
    ]);
  });

  it("puts services without networks on <stack>_default and labels every object with the stack", () => {
    const p = plan(`
services:
  a: {image: x, secrets: [s], configs: [c]}
secrets: {s: {file: ./s.txt}}
configs: {c: {file: ./c.txt, name: fixed-name}}
`);
    expect(p.services[0]?.taskTemplate?.networks).toEqual([
      { target: "app_default", aliases: ["a"], driverOpts: {} },
    ]);
    expect(p.networks.map((n) => [n.spec.name, n.spec.driverConfig?.name, n.spec.labels])).toEqual([
      ["app_default", "overlay", { [STACK_NAMESPACE_LABEL]: "app" }],
    ]);
    expect(p.secrets.map((s) => [s.spec.name, s.file, s.spec.labels])).toEqual([
      ["app_s", "/w/s.txt", { [STACK_NAMESPACE_LABEL]: "app" }],
    ]);
    expect(p.configs[0]?.spec.name).toBe("fixed-name");
    expect(p.services[0]?.labels).toEqual({ [STACK_NAMESPACE_LABEL]: "app" });
  });

  it("falls back to the container restart: key when deploy.restart_policy is absent, as docker does", () => {
    const p = plan(`
services:
  a: {image: x, restart: always}
  b: {image: x, restart: "on-failure:3"}
  c: {image: x, restart: "no"}
  d: {image: x, restart: always, deploy: {restart_policy: {condition: none}}}
`);
    expect(p.services.map((s) => s.taskTemplate?.restartPolicy)).toEqual([
      { condition: RestartCondition.ANY, maxAttempts: 0, windowMs: 0 },
      { condition: RestartCondition.ON_FAILURE, maxAttempts: 3, windowMs: 0 },
      undefined,
      { condition: RestartCondition.NONE, maxAttempts: 0, windowMs: 0 },
    ]);
  });

  it("converts healthcheck forms and a disabled healthcheck", () => {
    const p = plan(`
services:
  a: {image: x, healthcheck: {test: [CMD, curl, -f, http://localhost], interval: 1m30s, retries: 2}}
  b: {image: x, healthcheck: {disable: true}}
  c: {image: x, healthcheck: {test: [NONE]}}
`);
    expect(p.services.map((s) => s.taskTemplate?.container?.healthcheck)).toEqual([
      { test: ["CMD", "curl", "-f", "http://localhost"], intervalMs: 90_000, retries: 2 },
      { test: ["NONE"] },
      { test: ["NONE"] },
    ]);
  });

  it("leaves out environment variables without a value and says so", () => {
    const p = plan("services:\n  a:\n    image: x\n    environment: [A=1, B, C=]\n", {});
    expect(p.services[0]?.taskTemplate?.container?.env).toEqual(["A=1", "C="]);
    expect(p.warnings.map((w) => w.message)).toEqual([
      "variable B has no value and is not set in the environment; left out",
    ]);
  });

  it("keeps external objects' own names and does not label them", () => {
    const p = plan(`
services:
  a: {image: x, networks: [pub], secrets: [tok], volumes: ["data:/data"]}
networks: {pub: {external: true, name: traefik-public}}
secrets: {tok: {external: true}}
volumes: {data: {external: true}}
`);
    const t = p.services[0]!.taskTemplate!;
    expect(t.networks[0]?.target).toBe("traefik-public");
    expect(t.container?.secrets[0]?.secretName).toBe("tok");
    expect(t.container?.mounts[0]).toMatchObject({ source: "data", volumeOptions: { labels: {} } });
    expect(p.networks[0]).toMatchObject({ external: true, spec: { name: "traefik-public", labels: {} } });
  });
});

describe("readStackFiles", () => {
  it("fills secret and config data from files, environment and inline content, and names what is missing", () => {
    const p = plan(`
services:
  a: {image: x}
secrets:
  f: {file: ./f.txt}
  e: {environment: TOKEN}
  x: {external: true}
configs:
  c: {content: "hello"}
  m: {file: ./missing.txt}
`);
    expect(() =>
      readStackFiles(
        p,
        () => undefined,
        () => undefined,
      ),
    ).toThrow(
      [
        "3 secrets/configs cannot be read:",
        '  secret "e": environment variable TOKEN is not set',
        '  secret "f": cannot read file "/w/f.txt"',
        '  config "m": cannot read file "/w/missing.txt"',
      ].join("\n"),
    );
    const files: Record<string, string> = { "/w/f.txt": "file-data", "/w/missing.txt": "now here" };
    const read = readStackFiles(
      p,
      (path) => (files[path] === undefined ? undefined : new TextEncoder().encode(files[path])),
      (name) => (name === "TOKEN" ? "t0k" : undefined),
    );
    const text = (d: Uint8Array) => new TextDecoder().decode(d);
    expect(read.secrets.map((s) => [s.key, text(s.spec.data)])).toEqual([
      ["e", "t0k"],
      ["f", "file-data"],
      ["x", ""],
    ]);
    expect(read.configs.map((c) => [c.key, text(c.spec.data)])).toEqual([
      ["c", "hello"],
      ["m", "now here"],
    ]);
  });
});

describe("service-level tmpfs and group_add", () => {
  it("mounts tmpfs entries with their size and mode, and passes supplementary groups", () => {
    const p = plan(
      "services:\n  a:\n    image: x\n    tmpfs: [/run, '/cache:size=64m,mode=1777,noexec']\n    group_add: [audio]\n",
    );
    const c = p.services[0]!.taskTemplate!.container!;
    expect(c.mounts.map((m) => [m.target, m.tmpfsOptions])).toEqual([
      ["/run", { sizeBytes: 0, mode: 0, options: [] }],
      ["/cache", { sizeBytes: 64 * 1024 * 1024, mode: 0o1777, options: ["noexec"] }],
    ]);
    expect(c.groups).toEqual(["audio"]);
  });
});
