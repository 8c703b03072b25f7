// The manager program as `shoal daemon` runs it, for the benches whose memory and time figures
// should be of what users run: manager-main bundled with the command's build options
// (packages/cli/dist/manager-main/, made by the CLI's scripts/bundle.ts), started with the
// environment and node flags of the installed command's `#!` line (packages/cli/bin/shoal.js).
// packages/manager/bench/manager-processes.ts reads the same line for the manager's own benches.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BUNDLED_MANAGER_MAIN = fileURLToPath(
  new URL("../../packages/cli/dist/manager-main/manager-main.js", import.meta.url),
);
const SHOAL_BIN = fileURLToPath(new URL("../../packages/cli/bin/shoal.js", import.meta.url));

export interface DaemonProgram {
  /** Node's arguments before the program's own: the `#!` line's flags, then the bundle. */
  nodeArgs: string[];
  /** The `#!` line's environment (`MALLOC_ARENA_MAX=2`, …), to add to the process's. */
  env: Record<string, string>;
}

/**
 * The bundled manager-main with the daemon's flags; `extraFlags` (profiling, …) come after them,
 * so a later one wins. Throws if the bundle is missing or the `#!` line has another shape.
 */
export function bundledManager(extraFlags: readonly string[] = []): DaemonProgram {
  if (!existsSync(BUNDLED_MANAGER_MAIN)) {
    throw new Error(`${BUNDLED_MANAGER_MAIN} is missing: build first (npx turbo run build)`);
  }
  const first = readFileSync(SHOAL_BIN, "utf8").split("\n", 1)[0] ?? "";
  const m = /^#!\/usr\/bin\/env -S((?: [A-Z_][A-Z0-9_]*=\S*)*) node((?: --\S+)*)$/.exec(first);
  if (m === null) {
    throw new Error(
      `${SHOAL_BIN}: its first line "${first}" is not "#!/usr/bin/env -S [NAME=value…] node [flags]"`,
    );
  }
  const words = (s: string | undefined) => (s ?? "").split(" ").filter((w) => w !== "");
  const env = Object.fromEntries(
    words(m[1]).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)]),
  );
  return { nodeArgs: [...words(m[2]), ...extraFlags, BUNDLED_MANAGER_MAIN], env };
}
