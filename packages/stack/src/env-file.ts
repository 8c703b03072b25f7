import type { LookupEnv } from "./interpolate.js";

/** One problem in an env file, with its 1-based line. */
export interface EnvFileProblem {
  line: number;
  message: string;
}

/**
 * Parses an `env_file` the way Docker's CLI does (opts.ParseEnvFile): `KEY=VALUE` lines taken
 * literally (no quote removal, value not trimmed), `#` comment lines, and a bare `KEY` that is
 * taken from the environment when set and otherwise left without a value (null).
 */
export function parseEnvFile(
  text: string,
  lookup: LookupEnv,
): { vars: Array<[string, string | null]>; problems: EnvFileProblem[] } {
  const vars: Array<[string, string | null]> = [];
  const problems: EnvFileProblem[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/^[ \t]+/, "");
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    if (key === "") {
      problems.push({ line: i + 1, message: `no variable name before "="` });
      return;
    }
    if (/\s/.test(key)) {
      problems.push({ line: i + 1, message: `variable name ${JSON.stringify(key)} contains whitespace` });
      return;
    }
    if (eq >= 0) vars.push([key, line.slice(eq + 1)]);
    else vars.push([key, lookup(key) ?? null]);
  });
  return { vars, problems };
}

/**
 * Parses the `.env` file beside the first stack file, as docker compose does: optional `export`,
 * `#` comments, values unquoted (trimmed, ` #` starts a comment), single-quoted (literal) or
 * double-quoted (with \n, \t, \" and \\ escapes).
 */
export function parseDotEnv(text: string): { vars: Map<string, string>; problems: EnvFileProblem[] } {
  const vars = new Map<string, string>();
  const problems: EnvFileProblem[] = [];
  text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
      if (m === null) {
        problems.push({ line: i + 1, message: `expected KEY=VALUE, got ${JSON.stringify(line)}` });
        return;
      }
      const key = m[1] as string;
      const rest = m[2] as string;
      if (rest.startsWith("'")) {
        const end = rest.indexOf("'", 1);
        if (end < 0) problems.push({ line: i + 1, message: `unterminated quote in ${key}` });
        else vars.set(key, rest.slice(1, end));
      } else if (rest.startsWith('"')) {
        let value = "";
        let j = 1;
        for (; j < rest.length && rest[j] !== '"'; j++) {
          if (rest[j] === "\\" && j + 1 < rest.length) {
            j++;
            const c = rest[j] as string;
            value += c === "n" ? "\n" : c === "t" ? "\t" : c === "r" ? "\r" : c;
          } else value += rest[j];
        }
        if (j >= rest.length) problems.push({ line: i + 1, message: `unterminated quote in ${key}` });
        else vars.set(key, value);
      } else {
        vars.set(key, rest.replace(/\s+#.*$/, "").trim());
      }
    });
  return { vars, problems };
}
