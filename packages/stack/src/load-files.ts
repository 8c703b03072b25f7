import { readFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { Diagnostics, StackErrorCode } from "./errors.js";
import { type LoadedStack, loadStack, workingDirFor } from "./load.js";

export interface LoadStackFilesOptions {
  /** Defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Defaults to reading from disk. */
  readFile?: (absolutePath: string) => string | undefined;
  /** Directory relative file names are taken from (default: the process's). Messages keep the names as given. */
  cwd?: string;
}

/** Reads a text file; undefined when it is missing or not a readable file. */
export function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * The shell around `loadStack`: reads the files named on the command line (and the `.env` beside
 * the first one), then loads them. Messages name the files as the user wrote them.
 */
export function loadStackFiles(paths: readonly string[], options: LoadStackFilesOptions = {}): LoadedStack {
  const read = options.readFile ?? readTextFile;
  const diag = new Diagnostics();
  const files: Array<{ name: string; text: string }> = [];
  const cwd = options.cwd ?? process.cwd();
  for (const p of paths) {
    const text = read(resolve(cwd, p));
    if (text === undefined) {
      diag.error({
        code: StackErrorCode.FileUnreadable,
        file: p,
        message: "cannot read the stack file (missing or not a file)",
      });
    } else files.push({ name: p, text });
  }
  diag.throwIfErrors();
  const workingDir = workingDirFor(resolve(cwd, paths[0] ?? "."));
  const dotEnvPath = join(workingDir, ".env");
  const dotEnvText = paths.length > 0 ? read(dotEnvPath) : undefined;
  const shownDotEnv = relative(cwd, dotEnvPath) || basename(dotEnvPath);
  return loadStack({
    files,
    workingDir,
    env: options.env ?? process.env,
    dotEnv: dotEnvText === undefined ? undefined : { name: shownDotEnv, text: dotEnvText },
    readFile: read,
  });
}
