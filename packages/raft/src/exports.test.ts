import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const srcDir = fileURLToPath(new URL(".", import.meta.url));
const importPattern =
  /(?:^|\n)\s*(?:import|export)\b[^"']*?\bfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Every file reachable from `entry` by relative imports, and every package/builtin they import. */
function importGraph(entry: string): { files: string[]; external: Set<string> } {
  const files: string[] = [];
  const external = new Set<string>();
  const queue = [entry];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    files.push(relative(srcDir, file));
    for (const m of readFileSync(file, "utf8").matchAll(importPattern)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith(".")) queue.push(join(dirname(file), spec.replace(/\.js$/, ".ts")));
      else external.add(spec);
    }
  }
  return { files, external };
}

describe("@shoal/raft root export", () => {
  it("is the core alone: no driver, WAL or transport file, no grpc-js, fs or proto", () => {
    const { files, external } = importGraph(join(srcDir, "index.ts"));
    expect(files.filter((f) => /^(node|wal|transport)\//.test(f))).toEqual([]);
    expect([...external].sort()).toEqual(["@shoal/base"]);
  });

  it("the subpath entries reach what they name", () => {
    expect(importGraph(join(srcDir, "transport/index.ts")).external).toContain("@grpc/grpc-js");
    expect(importGraph(join(srcDir, "wal/index.ts")).external).toContain("node:fs/promises");
    expect(importGraph(join(srcDir, "node/index.ts")).files).toContain("node/raft-node.ts");
  });
});
