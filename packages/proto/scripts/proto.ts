// Regenerates src/gen from the .proto files (`generate`), or checks that src/gen is what the
// .proto files produce (`check`). Both run the same pipeline into a temp dir, so the check can
// never disagree with what `npm run proto` would write. `check` also runs `buf lint`.
//
//   tsx scripts/proto.ts generate|check [--proto-dir DIR] [--gen-dir DIR]
//
// Defaults: --proto-dir ../../proto (or $SHOAL_PROTO_DIR), --gen-dir src/gen (or $SHOAL_PROTO_GEN_DIR).
// The overrides exist so a test can prove the check fails on an edited copy of proto/.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

const packageDir = resolve(import.meta.dirname, "..");
const rootDir = resolve(packageDir, "../..");
const bufBin = join(rootDir, "node_modules/.bin/buf");

/** Runs buf + ts-proto into a temp dir and returns the post-processed files by relative path. */
function generateFiles(protoDir: string): Map<string, string> {
  const tmp = mkdtempSync(join(tmpdir(), "shoal-proto-"));
  try {
    // cwd = the package, so buf.gen.yaml's relative plugin path resolves; --output moves `out`.
    execFileSync(bufBin, ["generate", protoDir, "--template", "buf.gen.yaml", "--output", tmp], {
      cwd: packageDir,
      stdio: ["ignore", "inherit", "inherit"],
    });
    const genRoot = join(tmp, "src/gen");
    const files = new Map<string, string>();
    for (const path of listFiles(genRoot)) {
      files.set(relative(genRoot, path), postProcess(readFileSync(path, "utf8")));
    }
    return files;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const longWrite = /\.(u?int64|sint64|s?fixed64)\(([A-Za-z_$][\w.$]*)\)/g;

/**
 * 64-bit fields are plain numbers (forceLong=number). ts-proto's decode already throws on values
 * beyond 2^53, but encode would silently send a rounded value; wrap every 64-bit write in a check
 * so a lost-precision number fails loudly where it is produced.
 */
function postProcess(source: string): string {
  if (!longWrite.test(source)) return source;
  longWrite.lastIndex = 0;
  const body = source.replace(longWrite, ".$1(safeLong($2))");
  return `${body}
// Added by packages/proto/scripts/proto.ts: 64-bit fields are numbers; refuse ones that lost precision.
function safeLong(value: number): number {
  if (!globalThis.Number.isSafeInteger(value)) {
    throw new globalThis.Error(\`64-bit field value \${value} is not a safe integer (max 2^53 - 1)\`);
  }
  return value;
}
`;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  let paths: string[] = [];
  try {
    paths = listFiles(dir);
  } catch {
    return files;
  }
  for (const path of paths) files.set(relative(dir, path), readFileSync(path, "utf8"));
  return files;
}

/** Lists the files whose committed content differs from a fresh generation ("" when none). */
function describeDrift(fresh: Map<string, string>, committed: Map<string, string>): string[] {
  const drift: string[] = [];
  for (const [path, content] of fresh) {
    const old = committed.get(path);
    if (old === undefined) drift.push(`${path} (missing)`);
    else if (old !== content) drift.push(`${path} (differs)`);
  }
  for (const path of committed.keys()) if (!fresh.has(path)) drift.push(`${path} (no longer generated)`);
  return drift.sort();
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

function main(args: string[]): number {
  const mode = args[0];
  const protoDir = resolve(
    option(args, "--proto-dir") ?? process.env.SHOAL_PROTO_DIR ?? join(rootDir, "proto"),
  );
  const genDir = resolve(
    option(args, "--gen-dir") ?? process.env.SHOAL_PROTO_GEN_DIR ?? join(packageDir, "src/gen"),
  );
  if (mode !== "generate" && mode !== "check") {
    process.stderr.write("usage: proto.ts generate|check [--proto-dir DIR] [--gen-dir DIR]\n");
    return 2;
  }
  if (mode === "check") {
    // Style rules first (proto/buf.yaml): a drift-free but badly named field is still a problem.
    const lint = spawnSync(bufBin, ["lint", protoDir], { cwd: packageDir, encoding: "utf8" });
    if (lint.status !== 0) {
      process.stderr.write(
        `error: buf lint found problems in ${protoDir}:\n${lint.stdout}${lint.stderr}` +
          "hint: follow the rules in proto/buf.yaml (or add a justified exception there)\n",
      );
      return 1;
    }
  }
  const fresh = generateFiles(protoDir);
  if (mode === "check") {
    const drift = describeDrift(fresh, readTree(genDir));
    if (drift.length > 0) {
      process.stderr.write(
        `error: generated code in ${relative(process.cwd(), genDir) || "."} is out of date with ${protoDir}:\n` +
          drift.map((line) => `  ${line}\n`).join("") +
          "hint: run npm run proto and commit the result\n",
      );
      return 1;
    }
    process.stdout.write(`proto:check ok: ${fresh.size} generated files match ${protoDir}\n`);
    return 0;
  }
  rmSync(genDir, { recursive: true, force: true });
  for (const [path, content] of fresh) {
    const target = join(genDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  process.stdout.write(`proto: wrote ${fresh.size} files to ${genDir}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
