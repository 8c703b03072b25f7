// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose variable references, not JS templates
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { runCaptured } from "../test-support.js";
import { defaultStackName } from "./stack.js";

const here = dirname(fileURLToPath(import.meta.url));
const REPO = join(here, "..", "..", "..", "..");
// The malformed files and their expected messages live with the stack package's tests.
const BAD = join(REPO, "packages", "stack", "testdata", "bad");
const EXPECTED = JSON.parse(readFileSync(join(BAD, "expected.json"), "utf8")) as Record<string, string>;

const run = (cwd: string, env: Record<string, string | undefined>, ...argv: string[]) =>
  runCaptured(argv, { env, cwd });

const dir = mkdtempSync(join(tmpdir(), "shoal-cli-stack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, "stack.yml"),
  [
    'version: "3.8"',
    "services:",
    "  web:",
    "    image: nginx:${TAG:-1.27}",
    "    ports: ['8080:80']",
    "    deploy: {replicas: 2}",
    "    secrets: [key]",
    "    restart: always",
    "secrets:",
    "  key: {file: ./key.txt}",
    "",
  ].join("\n"),
);
writeFileSync(join(dir, "override.yml"), 'version: "3.8"\nservices:\n  web:\n    deploy: {replicas: 5}\n');

describe("shoal stack config", () => {
  it("prints the specs a deploy would create, as YAML by default", async () => {
    const r = await run(dir, {}, "stack", "config", "-c", "stack.yml", "shop");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("namespace: shop\n");
    expect(r.stdout).toContain("  - name: shop_web\n");
    expect(r.stdout).toContain("image: nginx:1.27\n");
    expect(r.stdout).toContain(`file: ${join(dir, "key.txt")}\n`);
    expect(r.stderr).toBe(
      "warning: stack.yml:8:5: services.web.restart: prefer deploy.restart_policy; restart: is only read when that is absent\n",
    );
  });

  it("prints JSON with the proto field names under --format json, merging -c files in order", async () => {
    const r = await run(
      dir,
      { TAG: "1.28" },
      "stack",
      "config",
      "-c",
      "stack.yml",
      "-c",
      "override.yml",
      "--format",
      "json",
      "shop",
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.services).toHaveLength(1);
    expect(out.services[0]).toMatchObject({
      name: "shop_web",
      replicated: { replicas: 5 },
      taskTemplate: { container: { image: "nginx:1.28" } },
      endpointSpec: { ports: [{ targetPort: 80, publishedPort: 8080, publishMode: "PUBLISH_MODE_INGRESS" }] },
    });
    expect(out.networks).toEqual([
      {
        external: false,
        name: "shop_default",
        labels: { "com.docker.stack.namespace": "shop" },
        driverConfig: { name: "overlay" },
      },
    ]);
    expect(out.secrets).toEqual([
      {
        external: false,
        file: join(dir, "key.txt"),
        name: "shop_key",
        labels: { "com.docker.stack.namespace": "shop" },
      },
    ]);
  });

  it("takes the global --format json too, and names the stack after the file's directory by default", async () => {
    const r = await run(dir, {}, "--format", "json", "stack", "config", "-c", join(dir, "stack.yml"));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).namespace).toBe(defaultStackName(join(dir, "stack.yml"), "/"));
    expect(defaultStackName("/srv/My Shop/stack.yml", "/")).toBe("myshop");
    expect(defaultStackName("stack.yml", "/")).toBe("stack");
  });

  it("needs -c", async () => {
    const r = await run(dir, {}, "stack", "config");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: no stack file given\nhint: use -c FILE\n");
  });

  describe("malformed files: exit code 1, the message with file:line:col, nothing on stdout", () => {
    it("has at least 20 of them", () => {
      expect(Object.keys(EXPECTED).length).toBeGreaterThanOrEqual(20);
    });
    for (const [file, message] of Object.entries(EXPECTED)) {
      it(file, async () => {
        const r = await run(BAD, {}, "stack", "config", "-c", file);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toBe(
          `error: ${message.replaceAll("{dir}", BAD)}\nhint: fix the file at the positions shown and run \`shoal stack config\` again\n`,
        );
      });
    }
  });

  it("exits 1 as a real process too", async () => {
    const exec = promisify(execFile);
    const main = join(REPO, "packages", "cli", "src", "main.ts");
    const tsx = join(REPO, "node_modules", "tsx", "dist", "esm", "index.mjs");
    const result = await exec(
      process.execPath,
      [
        "--conditions=shoal-source",
        "--import",
        tsx,
        main,
        "stack",
        "config",
        "-c",
        "wrong-type-replicas.yml",
      ],
      { cwd: BAD },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: ${EXPECTED["wrong-type-replicas.yml"]}\n`);
  });
});
