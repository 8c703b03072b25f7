// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose variable references, not JS templates
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type Random, ShoalError, seededRandom } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { convertStack, loadStack, type StackIssue, stackError, validatePlan } from "../src/index.js";
import { readTestdata, TESTDATA } from "./helpers.js";

// Valid inputs to mutate: the smaller half of the real-world corpus (small inputs keep the test
// fast on a busy machine; the big files add size, not new constructs) and docker's full example.
const SEEDS: string[] = [
  ...readdirSync(join(TESTDATA, "real"))
    .filter((f) => f.endsWith(".yml"))
    .map((f) => readTestdata("real", f))
    .filter((text) => text.length < 3000),
  readTestdata("peer", "full-example.yml"),
];
const ENV = {
  DOMAIN: "example.com",
  USERNAME: "u",
  HASHED_PASSWORD: "h",
  EMAIL: "e@example.com",
  PROMSTACK_PROMETHEUS_VERSION: "p",
  PROMSTACK_GRAFANA_VERSION: "g",
};
const NOISE = [
  ":",
  "-",
  " ",
  "\n",
  "\t",
  "$",
  "${",
  "}",
  "{",
  "[",
  "]",
  "*",
  "&a ",
  "<<: ",
  "'",
  '"',
  "#",
  "!!",
  "|",
  ">",
  ",",
  "?",
  "0",
  "x",
  "~",
  "%",
  "@",
  "`",
];
const VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  65536,
  "",
  "x",
  "10s",
  "2g",
  "0.5",
  "80:80",
  true,
  [],
  {},
  ["a"],
  { a: 1 },
  "${X}",
  "$",
  "{{.Node.ID}}",
];

function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[r.int(xs.length)] as T;
}

/** A text mutation: breaks YAML syntax, indentation, quoting, interpolation. */
function mutateText(r: Random, text: string): string {
  const lines = text.split("\n");
  const i = r.int(lines.length);
  const line = lines[i] ?? "";
  const at = r.int(line.length + 1);
  switch (r.int(7)) {
    case 0:
      lines[i] = line.slice(0, at) + pick(r, NOISE) + line.slice(at);
      break;
    case 1:
      lines[i] = line.slice(0, at) + line.slice(at + 1 + r.int(4));
      break;
    case 2:
      lines.splice(i, 0, line);
      break;
    case 3:
      lines.splice(i, 1);
      break;
    case 4:
      lines[i] = r.chance(0.5) ? `  ${line}` : line.replace(/^ {1,2}/, "");
      break;
    case 5:
      lines[i] = line.replace(
        /: .*$/,
        `: ${pick(r, ["three", "[1, 2]", "{}", "null", "-1", "0555", "yes", "'${A:?x}'", "*a", "10 seconds"])}`,
      );
      break;
    default:
      return text.slice(0, r.int(text.length));
  }
  return lines.join("\n");
}

/** A structural mutation: valid YAML whose values have the wrong types or shapes. */
function mutateTree(r: Random, text: string): string {
  const doc = parse(text, { merge: true }) as unknown;
  const walk = (node: unknown, depth: number): unknown => {
    if (Array.isArray(node)) return node.map((x) => (r.chance(0.1) ? pick(r, VALUES) : walk(x, depth + 1)));
    if (node !== null && typeof node === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) {
        if (r.chance(0.03)) continue;
        out[r.chance(0.02) ? `${k}_x` : k] = r.chance(0.06) ? pick(r, VALUES) : walk(v, depth + 1);
      }
      return out;
    }
    return node;
  };
  return stringify(walk(doc, 0));
}

function check(text: string, seed: number, iteration: number): "ok" | "error" {
  try {
    const loaded = loadStack({
      files: [{ name: "f.yml", text }],
      workingDir: "/w",
      env: ENV,
      readFile: () => "A=1\n",
    });
    // The spec rules run too (what `stack config` does); their findings must be positioned.
    const problems = validatePlan(convertStack(loaded.config, "fz", loaded.positions), loaded.positions);
    if (problems.length > 0) throw stackError(problems);
    return "ok";
  } catch (err) {
    const where = `seed ${seed}, iteration ${iteration}; input:\n${text}`;
    if (!ShoalError.is(err)) throw new Error(`not a ShoalError (${String(err)}) at ${where}`, { cause: err });
    const issues = err.details.errors as StackIssue[] | undefined;
    if (issues === undefined || issues.length === 0) throw new Error(`ShoalError without issues at ${where}`);
    for (const i of issues) {
      if (i.pos === undefined || i.pos.line < 1 || i.pos.col < 1 || i.pos.file !== "f.yml") {
        throw new Error(`issue without a position (${JSON.stringify(i)}) at ${where}`);
      }
    }
    return "error";
  }
}

describe("fuzz: mutated valid files either load or fail with positioned ShoalErrors", () => {
  const seed = Number(process.env.STACK_FUZZ_SEED ?? 20261128);

  it.each([
    ["text mutations", mutateText, 2000],
    ["structural mutations", mutateTree, 1000],
  ] as const)("%s", { timeout: 240_000 }, (_name, mutate, iterations) => {
    const r = seededRandom(seed);
    const outcomes = { ok: 0, error: 0 };
    for (let i = 0; i < iterations; i++) {
      let text = pick(r, SEEDS);
      const rounds = 1 + r.int(3);
      for (let k = 0; k < rounds; k++) text = mutate(r, text);
      outcomes[check(text, seed, i)]++;
    }
    // Both outcomes must occur, or the mutations are not exercising anything.
    expect(outcomes.ok).toBeGreaterThan(iterations / 50);
    expect(outcomes.error).toBeGreaterThan(iterations / 50);
  });
});
