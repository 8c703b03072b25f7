// Every error code in the repository is package-prefixed and unique, because the gRPC status
// mapping, the CLI and scripts switch on `err.code`: a bare or repeated code would make two
// failures indistinguishable. The test imports every package's errors.ts files (found on disk, so a
// new package or a new errors.ts is checked without editing this file) and reads each exported
// `…ErrorCode` object.
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The prefixes a package's codes may start with. A new package adds its line here. */
const ALLOWED_PREFIXES: Readonly<Record<string, readonly string[]>> = {
  base: ["BASE_"],
  proto: ["PROTO_"],
  raft: ["RAFT_"],
  scheduler: ["SCHEDULER_"],
  stack: ["STACK_"],
  runtime: ["CONTAINER_", "IMAGE_", "NETWORK_", "RUNTIME_"],
  cli: ["CLI_"],
  testkit: ["TESTKIT_"],
  store: ["STORE_"],
  orchestrator: ["ORCH_"],
  manager: ["MANAGER_"],
  pki: ["PKI_"],
  agent: ["AGENT_"],
  bus: ["BUS_"],
  daemon: ["DAEMON_"],
};

/**
 * Codes known to be declared twice, each with the reason it is tolerated. Keep this empty: an
 * entry is a debt with an owner.
 */
const KNOWN_DUPLICATES: ReadonlySet<string> = new Set([]);

const CODE_PATTERN = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

interface DeclaredCode {
  pkg: string;
  file: string;
  exportName: string;
  key: string;
  code: string;
}

function errorsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name === "gen") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...errorsFiles(path));
    else if (entry.name === "errors.ts") out.push(path);
  }
  return out;
}

async function collect(): Promise<{ codes: DeclaredCode[]; filesWithoutCodes: string[] }> {
  const codes: DeclaredCode[] = [];
  const filesWithoutCodes: string[] = [];
  const packagesDir = join(root, "packages");
  for (const pkg of readdirSync(packagesDir).sort()) {
    let files: string[];
    try {
      files = errorsFiles(join(packagesDir, pkg, "src"));
    } catch {
      continue; // a package without src/ (none today) declares no codes
    }
    for (const path of files.sort()) {
      const file = relative(root, path);
      const module = (await import(path)) as Record<string, unknown>;
      let found = 0;
      for (const [exportName, value] of Object.entries(module)) {
        if (!exportName.endsWith("ErrorCode") || typeof value !== "object" || value === null) continue;
        for (const [key, code] of Object.entries(value)) {
          codes.push({ pkg, file, exportName, key, code: String(code) });
          found++;
        }
      }
      if (found === 0) filesWithoutCodes.push(file);
    }
  }
  return { codes, filesWithoutCodes };
}

const where = (c: DeclaredCode) => `${c.file} ${c.exportName}.${c.key} = "${c.code}"`;

describe("error codes across the repository", async () => {
  const { codes, filesWithoutCodes } = await collect();

  it("finds the codes of every package that declares errors", () => {
    expect(filesWithoutCodes, "an errors.ts that exports no …ErrorCode object").toEqual([]);
    const packages = new Set(codes.map((c) => c.pkg));
    for (const pkg of ["base", "proto", "raft", "scheduler", "stack", "runtime", "cli", "testkit"]) {
      expect(packages.has(pkg), `no error codes found for package "${pkg}"`).toBe(true);
    }
  });

  it("spells every code in upper snake case", () => {
    expect(codes.filter((c) => !CODE_PATTERN.test(c.code)).map(where)).toEqual([]);
  });

  it("prefixes every code with one of its package's prefixes", () => {
    const unknownPackages = [...new Set(codes.map((c) => c.pkg))].filter((p) => !(p in ALLOWED_PREFIXES));
    expect(unknownPackages, "packages missing from ALLOWED_PREFIXES in this test").toEqual([]);
    const wrong = codes.filter((c) => !(ALLOWED_PREFIXES[c.pkg] ?? []).some((p) => c.code.startsWith(p)));
    expect(
      wrong.map((c) => `${where(c)}: expected a prefix from ${JSON.stringify(ALLOWED_PREFIXES[c.pkg])}`),
    ).toEqual([]);
  });

  it("declares every code exactly once", () => {
    const byCode = new Map<string, DeclaredCode[]>();
    for (const c of codes) byCode.set(c.code, [...(byCode.get(c.code) ?? []), c]);
    const duplicates = [...byCode].filter(([code, list]) => list.length > 1 && !KNOWN_DUPLICATES.has(code));
    expect(duplicates.map(([, list]) => list.map(where).join(" and "))).toEqual([]);
    // A known duplicate that is gone must leave the allow-list too.
    const stale = [...KNOWN_DUPLICATES].filter((code) => (byCode.get(code)?.length ?? 0) < 2);
    expect(stale, "KNOWN_DUPLICATES entries that are no longer duplicated").toEqual([]);
  });
});
