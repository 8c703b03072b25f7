// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose variable references, not JS templates
import { describe, expect, it } from "vitest";
import { formatIssue } from "./errors.js";
import { loadStack } from "./load.js";

function load(
  texts: string[],
  opts: { env?: Record<string, string>; files?: Record<string, string>; dotEnv?: string } = {},
) {
  return loadStack({
    files: texts.map((text, i) => ({ name: `f${i + 1}.yml`, text })),
    workingDir: "/w",
    env: opts.env ?? {},
    readFile: (p) => opts.files?.[p],
    ...(opts.dotEnv !== undefined ? { dotEnv: { name: ".env", text: opts.dotEnv } } : {}),
  });
}

describe("loadStack", () => {
  it("merges files: maps by key, scalars override, ports/volumes/secrets by target, command replaced, lists appended", () => {
    const base = `
version: "3.8"
services:
  web:
    image: nginx:1
    command: [serve, --a]
    environment: {A: "1", B: "2"}
    ports: ["8080:80", "9090:90"]
    volumes: ["/a:/data", "/b:/logs"]
    dns: [1.1.1.1]
    deploy:
      replicas: 2
      placement: {constraints: [node.role == worker]}
      labels: {team: a}
`;
    const override = `
version: "3.8"
services:
  web:
    image: nginx:2
    command: [serve, --b]
    environment: {B: "3"}
    ports: ["8081:80"]
    volumes: ["/c:/data"]
    dns: [8.8.8.8]
    deploy:
      placement: {constraints: [node.labels.ssd == true]}
      labels: {tier: web}
  worker:
    image: worker
`;
    const web = load([base, override]).config.services.web!;
    expect(web.image).toBe("nginx:2");
    expect(web.command).toEqual(["serve", "--b"]);
    expect(web.environment).toEqual({ A: "1", B: "3" });
    expect(web.ports?.map((p) => `${p.published}:${p.target}`)).toEqual(["8081:80", "9090:90"]);
    expect(web.volumes?.map((v) => `${v.source}:${v.target}`)).toEqual(["/c:/data", "/b:/logs"]);
    expect(web.dns).toEqual(["1.1.1.1", "8.8.8.8"]);
    expect(web.deploy?.replicas).toBe(2);
    expect(web.deploy?.placement?.constraints).toEqual(["node.role == worker", "node.labels.ssd == true"]);
    expect(web.deploy?.labels).toEqual({ team: "a", tier: "web" });
  });

  it("refuses files with different versions", () => {
    expect(() => load(['version: "3.8"\nservices: {}\n', 'version: "3.2"\nservices: {}\n'])).toThrow(
      'f2.yml:1:1: version: version "3.2" differs from version "3.8" in f1.yml',
    );
  });

  it('reads "3" as the newest 3.x and files without a version against the compose spec', () => {
    expect(load(['version: "3"\nservices: {a: {image: x}}\n']).config.version).toBe("3.13");
    // A compose-spec key that docker's v3 schemas do not have is accepted without a version …
    expect(
      load(["services:\n  a:\n    image: x\n    pull_policy: always\n"]).config.services.a?.pull_policy,
    ).toBe("always");
    // … and refused with one.
    expect(() => load(['version: "3.8"\nservices:\n  a:\n    image: x\n    pull_policy: always\n'])).toThrow(
      'f1.yml:5:5: services.a: unknown key "pull_policy"',
    );
  });

  it("casts interpolated numbers and booleans where the schema wants them, as docker does", () => {
    const s = load(
      [
        'version: "3.8"\nservices:\n  a:\n    image: x\n    read_only: "${RO}"\n    deploy: {replicas: "${N}"}\n',
      ],
      {
        env: { N: "3", RO: "yes" },
      },
    ).config.services.a!;
    expect(s.deploy?.replicas).toBe(3);
    expect(s.read_only).toBe(true);
  });

  it("takes variables from the process environment first, then .env", () => {
    const s = load(["services:\n  a:\n    image: ${IMG}:${TAG}\n"], {
      env: { TAG: "env" },
      dotEnv: "IMG=redis\nTAG=dotenv\n",
    }).config.services.a!;
    expect(s.image).toBe("redis:env");
  });

  it("warns about unset variables, ignored keys and deprecated forms, with positions", () => {
    const r = load([
      'version: "3.8"\nservices:\n  a:\n    image: x:${TAG}\n    build: .\n    depends_on: [b]\n  b:\n    image: y\nnetworks:\n  n:\n    external:\n      name: real\n',
    ]);
    expect(r.warnings.map(formatIssue)).toEqual([
      "f1.yml:4:5: services.a.image: variable TAG is not set, using an empty string",
      "f1.yml:5:5: services.a.build: ignored: Swarm does not build images; build and push them, then name them in image:",
      "f1.yml:6:5: services.a.depends_on: ignored: Swarm starts services in any order",
      "f1.yml:12:7: networks.n.external.name: external.name is deprecated: use name: together with external: true",
    ]);
    expect(r.config.networks.n).toEqual({ name: "real", external: true });
  });

  it("reads env_file relative to the first file's directory; later entries and environment: win", () => {
    const s = load(
      ["services:\n  a:\n    image: x\n    env_file: [a.env, b.env]\n    environment: [C=3]\n"],
      {
        files: { "/w/a.env": "A=1\nB=1\nC=1\n", "/w/b.env": "B=2\n" },
      },
    ).config.services.a!;
    expect(s.environment).toEqual({ A: "1", B: "2", C: "3" });
  });

  it("keeps Go templates and $$ escapes", () => {
    const s = load([
      "services:\n  a:\n    image: x\n    hostname: '{{.Node.Hostname}}-{{.Task.Slot}}'\n    command: echo $$HOME\n",
    ]).config.services.a!;
    expect(s.hostname).toBe("{{.Node.Hostname}}-{{.Task.Slot}}");
    expect(s.command).toEqual(["echo", "$HOME"]);
  });
});

describe("deploy keys Shoal does not use", () => {
  it("are warned about by name", () => {
    const r = loadStack({
      files: [
        {
          name: "d.yml",
          text: "services:\n  a:\n    image: x\n    deploy:\n      resources:\n        reservations:\n          devices: [{capabilities: [gpu]}]\n",
        },
      ],
      workingDir: "/w",
      env: {},
      readFile: () => undefined,
    });
    expect(r.warnings.map(formatIssue)).toEqual([
      "d.yml:7:11: services.a.deploy.resources.reservations.devices: ignored: device reservations are not supported; use generic_resources",
    ]);
  });
});

describe("one message per problem", () => {
  it("does not also report a schema error for a value whose interpolation failed", () => {
    expect(() =>
      loadStack({
        files: [
          {
            name: "i.yml",
            text: 'version: "3.8"\nservices:\n  a:\n    image: x\n    deploy: {replicas: "${N?set N}"}\n',
          },
        ],
        workingDir: "/w",
        env: {},
        readFile: () => undefined,
      }),
    ).toThrow(/^i\.yml:5:14: services\.a\.deploy\.replicas: variable N is required: set N$/);
  });
});
