// The vocabulary rule (docs/architecture.md): wire types belong to @shoal/proto, the scheduler's
// narrow input types have names of their own, so an import can never pick the wrong one.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packages = fileURLToPath(new URL("../..", import.meta.url));
const DECLARATION = /^export (?:declare )?(?:interface|type|const|function|class|enum) ([A-Za-z_$][\w$]*)/gm;

function exportedNames(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name.endsWith(".test.ts")) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), "utf8");
    for (const m of text.matchAll(DECLARATION)) names.add(m[1]);
  }
  return names;
}

describe("the scheduler's vocabulary", () => {
  it("declares no name that @shoal/proto also declares", () => {
    const proto = exportedNames(join(packages, "proto", "src"));
    const scheduler = exportedNames(join(packages, "scheduler", "src"));
    expect(proto.has("TaskState") && scheduler.has("SchedulerNode")).toBe(true);
    expect([...scheduler].filter((n) => proto.has(n)).sort()).toEqual([]);
  });
});
