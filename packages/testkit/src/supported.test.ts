import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const repoRoot = resolve(import.meta.dirname, "../../..");

describe("assertHostsSupported", () => {
  // The fixture starts as root (so it can load the code from any checkout, even one in a
  // directory only root can read) and drops to uid 65534 before calling createHosts.
  it("makes createHosts fail, saying why, for a user who is not root", () => {
    const r = spawnSync(
      process.execPath,
      ["--conditions=shoal-source", "--import", "tsx", "packages/testkit/test/fixtures/unprivileged.ts"],
      { cwd: repoRoot, env: { ...process.env, HOME: "/tmp" }, encoding: "utf8" },
    );
    expect(r.stdout.trim(), r.stderr).toBe(
      "TESTKIT_UNSUPPORTED: testkit hosts need root: running as uid 65534",
    );
  });
});
