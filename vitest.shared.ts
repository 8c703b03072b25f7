// One vitest setup for every package: workspace packages resolve to their TypeScript sources
// (the "shoal-source" export condition), so tests never need a build.
import { defineProject } from "vitest/config";

const conditions = ["shoal-source", "node", "import", "module", "default"];

export function packageProject(
  name: string,
  overrides: { testTimeoutMs?: number; serial?: boolean; include?: string[] } = {},
) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ["shoal-source"] } },
    test: {
      name,
      environment: "node",
      include: overrides.include ?? ["src/**/*.test.ts", "test/**/*.test.ts"],
      testTimeout: overrides.testTimeoutMs ?? 20_000,
      hookTimeout: overrides.testTimeoutMs ?? 20_000,
      // Tests that touch the kernel (namespaces, runc, iptables) share global state: one file at a time.
      ...(overrides.serial ? { fileParallelism: false } : {}),
    },
  });
}
