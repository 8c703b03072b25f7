import { readFileSync } from "node:fs";
import { parseDurationMs } from "@shoal/base";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { type Diagnostics, StackErrorCode } from "./errors.js";
import { parsePortRange } from "./ports.js";
import { formatPath, type PathSeg, type SourceMap } from "./source-map.js";

/** The docker/cli v3 schema versions we carry (schemas/config_schema_v3.N.json). */
export const V3_MINOR_VERSIONS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;
/** A missing `version` or `"3"` means the newest 3.x schema, as in docker/cli. */
export const DEFAULT_V3_VERSION = "3.13";

const SCHEMA_DIR = new URL("../schemas/", import.meta.url);

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function getAjv(): Ajv {
  if (ajv !== undefined) return ajv;
  ajv = new Ajv({ allErrors: true, strict: false, verbose: true, validateFormats: true });
  ajv.addFormat("duration", {
    type: "string",
    validate: (s: string) => {
      try {
        parseDurationMs(s);
        return true;
      } catch {
        return false;
      }
    },
  });
  // docker/cli checks "ports" and "expose" with nat.ParsePortSpec; we check the same shape.
  ajv.addFormat("ports", { type: "string", validate: (s: string) => parsePortRange(s) !== undefined });
  ajv.addFormat("expose", {
    type: "string",
    validate: (s: string) => /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(s),
  });
  return ajv;
}

/**
 * The v3 schemas are draft-04: `id` instead of `$id`, with fragment ids inside. Ajv speaks
 * draft-07, and in these files the two drafts differ only in those ids, which we drop.
 */
function toDraft7(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toDraft7);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if ((k === "id" || k === "$schema" || k === "$id") && typeof v === "string") continue;
    // Children of these are property names, not schemas: keep their keys, convert their values.
    if (k === "properties" || k === "patternProperties" || k === "definitions") {
      const m: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries(v as Record<string, unknown>)) m[name] = toDraft7(sub);
      out[k] = m;
    } else out[k] = toDraft7(v);
  }
  return out;
}

function validatorFor(name: string): ValidateFunction {
  let v = compiled.get(name);
  if (v === undefined) {
    const raw = JSON.parse(readFileSync(new URL(`${name}.json`, SCHEMA_DIR), "utf8")) as unknown;
    v = getAjv().compile(toDraft7(raw) as object);
    compiled.set(name, v);
  }
  return v;
}

/** Schema file name for a `version` value, or undefined when the version is not a 3.x we know. */
export function v3SchemaName(version: string): string | undefined {
  const v = version === "3" ? DEFAULT_V3_VERSION : version;
  const m = /^3\.(\d+)$/.exec(v);
  if (m === null || !V3_MINOR_VERSIONS.includes(Number(m[1]) as never)) return undefined;
  return `config_schema_v${v}`;
}

/**
 * Validates one interpolated file against the docker/cli schema for its `version` (when it has
 * one) and against the compose-spec schema. Problems go to `diag` with positions.
 */
export function validateSchema(
  value: unknown,
  schemaNames: string[],
  positions: SourceMap,
  diag: Diagnostics,
): void {
  for (const name of schemaNames) {
    const validate = validatorFor(name);
    if (validate(value)) continue;
    for (const issue of simplify(validate.errors ?? [])) report(issue, value, positions, diag);
    // One schema's findings are enough; the second one would mostly repeat them in other words.
    return;
  }
}

/** Collapses oneOf/anyOf noise into the error a person can act on. */
function simplify(errors: ErrorObject[]): ErrorObject[] {
  let pending: ErrorObject[] = [];
  for (const e of errors) {
    if (e.keyword !== "oneOf" && e.keyword !== "anyOf") {
      pending.push(e);
      continue;
    }
    const under = (x: ErrorObject) =>
      x.instancePath === e.instancePath || x.instancePath.startsWith(`${e.instancePath}/`);
    const branch = pending.filter(under);
    pending = pending.filter((x) => !under(x));
    pending.push(...summarize(e, branch));
  }
  return pending;
}

function summarize(e: ErrorObject, branch: ErrorObject[]): ErrorObject[] {
  if (branch.length === 0) return [e];
  const deeper = branch.filter((x) => x.instancePath !== e.instancePath);
  if (deeper.length > 0) return deeper;
  const nonType = branch.filter((x) => x.keyword !== "type");
  if (nonType.length > 0) return nonType;
  const types = new Set<string>();
  for (const x of branch) {
    const t = (x.params as { type: string | string[] }).type;
    for (const one of Array.isArray(t) ? t : String(t).split(",")) types.add(one);
  }
  return [{ ...e, keyword: "type", params: { type: [...types] } }];
}

function pathOf(instancePath: string): PathSeg[] {
  if (instancePath === "") return [];
  return instancePath
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Paths from JSON pointers are strings; list indices must be numbers to find their position. */
function fixIndices(path: PathSeg[], root: unknown): PathSeg[] {
  const out: PathSeg[] = [];
  let cur: unknown = root;
  for (const seg of path) {
    const s = Array.isArray(cur) ? Number(seg) : String(seg);
    out.push(s);
    cur = cur !== null && typeof cur === "object" ? (cur as Record<string, unknown>)[s as string] : undefined;
  }
  return out;
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

const TYPE_WORDS: Record<string, string> = {
  integer: "number",
  number: "number",
  string: "string",
  boolean: "boolean (true or false)",
  object: "mapping",
  array: "list",
  null: "null",
};

function typeMessage(types: string[], data: unknown): string {
  if (types.includes("integer") && typeof data === "number" && !types.includes("number")) {
    return `must be a whole number, got ${describeValue(data)}`;
  }
  const words = [...new Set(types.map((t) => TYPE_WORDS[t] ?? t))].filter((w) => w !== "null");
  const list =
    words.length <= 1 ? (words[0] ?? "null") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
  const article = /^[aeiou]/.test(list) ? "an" : "a";
  return `must be ${article} ${list}, got ${describeValue(data)}`;
}

function report(e: ErrorObject, root: unknown, positions: SourceMap, diag: Diagnostics): void {
  let path = fixIndices(pathOf(e.instancePath), root);
  const data = e.data;
  let message: string;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "type": {
      const t = params.type as string | string[];
      message = typeMessage(Array.isArray(t) ? t : String(t).split(","), data);
      break;
    }
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const parent = e.parentSchema as {
        properties?: Record<string, unknown>;
        patternProperties?: Record<string, unknown>;
      };
      const known = Object.keys(parent?.properties ?? {});
      const patterns = Object.keys(parent?.patternProperties ?? {}).filter((p) => p !== "^x-");
      const pos = positions.get([...path, key]) ?? positions.nearest(path);
      if (known.length === 0 && patterns.length > 0) {
        message = `invalid name ${JSON.stringify(key)}: must match ${patterns.join(" or ")}`;
      } else {
        const hint = closest(key, known);
        message = `unknown key ${JSON.stringify(key)}${hint !== undefined ? ` (did you mean ${JSON.stringify(hint)}?)` : ""}`;
      }
      diag.error({
        code: StackErrorCode.SchemaInvalid,
        message,
        path: formatPath(path),
        ...(pos ? { pos } : {}),
      });
      return;
    }
    case "required":
      message = `missing required key ${JSON.stringify(params.missingProperty)}`;
      break;
    case "enum":
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(data)}`;
      break;
    case "const":
      message = `must be ${JSON.stringify(params.allowedValue)}, got ${describeValue(data)}`;
      break;
    case "format": {
      const f = String(params.format);
      message =
        f === "duration"
          ? `must be a duration such as "10s" or "1m30s", got ${describeValue(data)}`
          : f === "ports" || f === "expose"
            ? `invalid port ${describeValue(data)}`
            : `must be a valid ${f}, got ${describeValue(data)}`;
      break;
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      message = `must be ${String(params.comparison)} ${String(params.limit)}, got ${describeValue(data)}`;
      break;
    case "uniqueItems":
      message = `must not repeat items (items ${String(params.j)} and ${String(params.i)} are the same)`;
      path = [...path, Number(params.i)];
      break;
    case "pattern":
      message = `must match ${String(params.pattern)}, got ${describeValue(data)}`;
      break;
    case "minItems":
    case "minProperties":
      message = `must not be empty`;
      break;
    case "oneOf":
      message = "matches more than one of the allowed forms";
      break;
    default:
      message = e.message ?? `is invalid (${e.keyword})`;
  }
  const pos = positions.nearest(path);
  diag.error({
    code: StackErrorCode.SchemaInvalid,
    message,
    path: formatPath(path),
    ...(pos ? { pos } : {}),
  });
}

/** The known key nearest to a misspelt one, if it is close enough to be a likely typo. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}
