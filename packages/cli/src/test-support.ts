// For the package's tests: `shoal` run in-process with its output captured.
import type { CliIo } from "./io.js";
import { runCli } from "./program.js";

/** Runs `argv` with `env` and `cwd` (default: no environment, this process's cwd). */
export async function runCaptured(
  argv: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
