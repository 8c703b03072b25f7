// Load time of stack files, parse to specs: docker's full example and a generated 500-service stack.
import { readFileSync } from "node:fs";
import { percentile, reportFigure } from "@shoal/base";
import { convertStack, loadStack } from "../src/index.js";

const testdata = new URL("../testdata/", import.meta.url);

function timeMs(runs: number, warmup: number, f: () => void): number {
  for (let i = 0; i < warmup; i++) f();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    samples.push(performance.now() - t);
  }
  return percentile(samples, 50);
}

/** A realistic big stack: every service with deploy settings, ports, env, networks, a secret. */
export function generateStack(services: number): string {
  const lines = [
    'version: "3.8"',
    "x-deploy: &deploy",
    "  restart_policy: {condition: on-failure, delay: 5s}",
    "services:",
  ];
  for (let i = 0; i < services; i++) {
    lines.push(
      `  svc${i}:`,
      `    image: registry.example.com/team${i % 7}/app${i}:\${TAG:-1.${i % 10}}`,
      `    command: ["serve", "--port", "${8000 + (i % 100)}"]`,
      "    environment:",
      `      - SERVICE_INDEX=${i}`,
      "      - LOG_LEVEL=info",
      `    ports: ["${20000 + i}:${8000 + (i % 100)}"]`,
      `    networks: [net${i % 5}]`,
      "    secrets: [shared]",
      "    healthcheck: {test: [CMD, /health], interval: 10s, timeout: 2s, retries: 3}",
      "    deploy:",
      "      <<: *deploy",
      `      replicas: ${1 + (i % 4)}`,
      "      resources: {limits: {cpus: '0.50', memory: 256M}, reservations: {cpus: '0.10', memory: 64M}}",
      "      update_config: {parallelism: 2, delay: 10s, order: start-first}",
      `      placement: {constraints: [node.labels.zone == z${i % 3}]}`,
      `      labels: [team=t${i % 7}]`,
    );
  }
  lines.push("networks:");
  for (let n = 0; n < 5; n++) lines.push(`  net${n}: {driver: overlay}`);
  lines.push("secrets:", "  shared: {external: true}", "");
  return lines.join("\n");
}

export async function run(): Promise<void> {
  const full = readFileSync(new URL("peer/full-example.yml", testdata), "utf8");
  const envFiles: Record<string, string> = {
    "/foo/example1.env": readFileSync(new URL("peer/example1.env", testdata), "utf8"),
    "/foo/example2.env": readFileSync(new URL("peer/example2.env", testdata), "utf8"),
  };
  const loadFull = () =>
    convertStack(
      loadStack({
        files: [{ name: "full-example.yml", text: full }],
        workingDir: "/foo",
        env: { HOME: "/bar" },
        readFile: (p) => envFiles[p],
        deployChecks: false,
      }).config,
      "bench",
    );
  reportFigure("stack_load_ms_full_example", timeMs(100, 20, loadFull), "ms");

  const big = generateStack(500);
  const loadBig = () =>
    convertStack(
      loadStack({
        files: [{ name: "big.yml", text: big }],
        workingDir: "/w",
        env: {},
        readFile: () => undefined,
      }).config,
      "bench",
    );
  if (
    convertStack(
      loadStack({
        files: [{ name: "big.yml", text: big }],
        workingDir: "/w",
        env: {},
        readFile: () => undefined,
      }).config,
      "b",
    ).services.length !== 500
  ) {
    throw new Error("the generated stack must have 500 services");
  }
  reportFigure("stack_load_ms_500_services", timeMs(10, 10, loadBig), "ms");
}
