import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RaftErrorCode } from "./errors.js";
import { NodeErrorCode } from "./node/errors.js";
import { TransportErrorCode } from "./transport/errors.js";
import { WalErrorCode } from "./wal/errors.js";

const tables = { RaftErrorCode, NodeErrorCode, WalErrorCode, TransportErrorCode };

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(path));
    // Test support (test-cluster.ts) may throw plain errors; shipped code may not.
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.startsWith("test-"))
      out.push(path);
  }
  return out;
}

describe("raft error codes", () => {
  it("are all RAFT_-prefixed and unique across the package's tables", () => {
    const seen = new Map<string, string>();
    for (const [table, codes] of Object.entries(tables)) {
      for (const [name, code] of Object.entries(codes)) {
        expect(code, `${table}.${name}`).toMatch(/^RAFT_[A-Z0-9_]+$/);
        const other = seen.get(code);
        expect(other, `${code} is declared by both ${other} and ${table}.${name}`).toBeUndefined();
        seen.set(code, `${table}.${name}`);
      }
    }
    expect(seen.size).toBeGreaterThan(20);
  });

  it("no source file throws a bare Error (invariants are ShoalError RAFT_INVARIANT)", () => {
    const root = fileURLToPath(new URL(".", import.meta.url));
    const offenders = sourceFiles(root).filter((f) => /throw new Error\(/.test(readFileSync(f, "utf8")));
    expect(offenders).toEqual([]);
  });
});
