import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type LoadedStack, loadStack } from "../src/index.js";

export const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), "..", "testdata");

export function readTestdata(...parts: string[]): string {
  return readFileSync(join(TESTDATA, ...parts), "utf8");
}

/**
 * Loads testdata files as if they sat in `workingDir`, with a fixed environment; referenced files
 * (env_file) come from `files` by absolute path, so tests never depend on the machine.
 */
export function loadFromText(
  texts: Array<{ name: string; text: string }>,
  options: {
    env?: Record<string, string>;
    files?: Record<string, string>;
    workingDir?: string;
    deployChecks?: boolean;
    dotEnv?: string;
  } = {},
): LoadedStack {
  const files = options.files ?? {};
  return loadStack({
    files: texts,
    workingDir: options.workingDir ?? "/stack",
    env: options.env ?? {},
    readFile: (p) => files[p],
    ...(options.dotEnv !== undefined ? { dotEnv: { name: ".env", text: options.dotEnv } } : {}),
    ...(options.deployChecks !== undefined ? { deployChecks: options.deployChecks } : {}),
  });
}
