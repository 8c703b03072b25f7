import { type Diagnostics, StackErrorCode } from "./errors.js";
import { formatPath, type Path, type SourceMap } from "./source-map.js";
import { setOwn } from "./yaml-parse.js";

/** Looks a variable up; undefined means "not set" (different from set to ""). */
export type LookupEnv = (name: string) => string | undefined;

export type SubstituteResult = { ok: true; value: string; unset: string[] } | { ok: false; message: string };

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;
const BRACED = /^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-?])(.*))?$/s;

/**
 * Expands `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
 * `${VAR?message}` and `$$` the way docker/cli's template package does, with one deliberate
 * difference: an unbraced `$VAR` never takes an operator (docker reads `$A-b` as `${A-b}`; POSIX
 * shells and compose-go read `$A` followed by `-b`). A braced expression ends at the first `}`, and
 * defaults are taken literally (no nested expansion), so `${P:-$2y$05$x}` yields `$2y$05$x`.
 */
export function substitute(template: string, lookup: LookupEnv): SubstituteResult {
  if (!template.includes("$")) return { ok: true, value: template, unset: [] };
  let out = "";
  const unset: string[] = [];
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf("$", i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === "$") {
      out += "$";
      i = dollar + 2;
      continue;
    }
    if (next === "{") {
      const close = template.indexOf("}", dollar + 2);
      const body = close < 0 ? undefined : template.slice(dollar + 2, close);
      const m = body === undefined ? null : BRACED.exec(body);
      if (m === null) return invalid(template);
      const name = m[1] as string;
      const op = m[2];
      const arg = m[3] ?? "";
      const value = lookup(name);
      switch (op) {
        case undefined:
          if (value === undefined) unset.push(name);
          out += value ?? "";
          break;
        case ":-":
          out += value === undefined || value === "" ? arg : value;
          break;
        case "-":
          out += value === undefined ? arg : value;
          break;
        case ":?":
        case "?":
          if (value === undefined || (op === ":?" && value === "")) {
            return {
              ok: false,
              message: arg === "" ? `variable ${name} is required` : `variable ${name} is required: ${arg}`,
            };
          }
          out += value;
          break;
      }
      i = (close as number) + 1;
      continue;
    }
    const m = NAME.exec(template.slice(dollar + 1));
    if (m === null) return invalid(template);
    const value = lookup(m[0]);
    if (value === undefined) unset.push(m[0]);
    out += value ?? "";
    i = dollar + 1 + m[0].length;
  }
  return { ok: true, value: out, unset };
}

function invalid(template: string): SubstituteResult {
  return {
    ok: false,
    message: `invalid variable reference in ${JSON.stringify(template)}: use $$ for a literal $`,
  };
}

type Cast = "int" | "float" | "bool";

// After substitution everything is a string; these places expect a number or boolean, as in
// docker/cli's interpolateTypeCastMapping. "*" matches any map key, "[]" any list index.
const CASTS: Array<[string[], Cast]> = [
  [["services", "*", "configs", "[]", "mode"], "int"],
  [["services", "*", "secrets", "[]", "mode"], "int"],
  [["services", "*", "healthcheck", "retries"], "int"],
  [["services", "*", "healthcheck", "disable"], "bool"],
  [["services", "*", "deploy", "replicas"], "int"],
  [["services", "*", "deploy", "update_config", "parallelism"], "int"],
  [["services", "*", "deploy", "update_config", "max_failure_ratio"], "float"],
  [["services", "*", "deploy", "rollback_config", "parallelism"], "int"],
  [["services", "*", "deploy", "rollback_config", "max_failure_ratio"], "float"],
  [["services", "*", "deploy", "restart_policy", "max_attempts"], "int"],
  [["services", "*", "deploy", "placement", "max_replicas_per_node"], "int"],
  [["services", "*", "deploy", "resources", "limits", "pids"], "int"],
  [["services", "*", "ports", "[]", "target"], "int"],
  [["services", "*", "ports", "[]", "published"], "int"],
  [["services", "*", "ulimits", "*"], "int"],
  [["services", "*", "ulimits", "*", "hard"], "int"],
  [["services", "*", "ulimits", "*", "soft"], "int"],
  [["services", "*", "privileged"], "bool"],
  [["services", "*", "read_only"], "bool"],
  [["services", "*", "stdin_open"], "bool"],
  [["services", "*", "tty"], "bool"],
  [["services", "*", "init"], "bool"],
  [["services", "*", "volumes", "[]", "read_only"], "bool"],
  [["services", "*", "volumes", "[]", "volume", "nocopy"], "bool"],
  [["networks", "*", "external"], "bool"],
  [["networks", "*", "internal"], "bool"],
  [["networks", "*", "attachable"], "bool"],
  [["volumes", "*", "external"], "bool"],
  [["secrets", "*", "external"], "bool"],
  [["configs", "*", "external"], "bool"],
];

function castFor(path: Path): Cast | undefined {
  for (const [pattern, cast] of CASTS) {
    if (pattern.length !== path.length) continue;
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const p = pattern[i] as string;
      const s = path[i] as string | number;
      ok = p === "*" ? typeof s === "string" : p === "[]" ? typeof s === "number" : p === s;
    }
    if (ok) return cast;
  }
  return undefined;
}

function applyCast(value: string, cast: Cast): unknown {
  // A value that does not convert stays a string; the schema then reports it with its position.
  switch (cast) {
    case "int":
      return /^[-+]?\d+$/.test(value.trim()) ? Number(value) : value;
    case "float":
      return value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
    case "bool": {
      const v = value.toLowerCase();
      if (["y", "yes", "true", "on"].includes(v)) return true;
      if (["n", "no", "false", "off"].includes(v)) return false;
      return value;
    }
  }
}

/**
 * Substitutes variables in every string value (not keys) of a parsed file. Errors name the
 * position and key; unset plain variables are warnings, as in docker compose.
 */
export function interpolateTree(
  value: unknown,
  positions: SourceMap,
  file: string,
  lookup: LookupEnv,
  diag: Diagnostics,
): unknown {
  const warned = new Set<string>();
  const walk = (v: unknown, path: PathSegArray): unknown => {
    if (typeof v === "string") {
      const r = substitute(v, lookup);
      if (!r.ok) {
        const pos = positions.nearest(path);
        diag.error({
          code: StackErrorCode.Interpolation,
          message: r.message,
          path: formatPath(path),
          ...(pos !== undefined ? { pos } : { file }),
        });
        return v;
      }
      for (const name of r.unset) {
        if (warned.has(name)) continue;
        warned.add(name);
        const pos = positions.nearest(path);
        diag.warn({
          code: StackErrorCode.Interpolation,
          message: `variable ${name} is not set, using an empty string`,
          path: formatPath(path),
          ...(pos !== undefined ? { pos } : { file }),
        });
      }
      if (r.value === v) return v;
      const cast = castFor(path);
      return cast === undefined ? r.value : applyCast(r.value, cast);
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) setOwn(out, k, walk(item, [...path, k]));
      return out;
    }
    return v;
  };
  return walk(value, []);
}

type PathSegArray = Array<string | number>;
