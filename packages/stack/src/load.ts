import { dirname, resolve } from "node:path";
import { checkStack, type NormalizedFile } from "./checks.js";
import { parseDotEnv } from "./env-file.js";
import { Diagnostics, StackErrorCode, type StackIssue } from "./errors.js";
import { interpolateTree, type LookupEnv } from "./interpolate.js";
import { mergeConfigs } from "./merge.js";
import type { StackConfig } from "./model.js";
import { checkForbiddenKeys, normalizeFile } from "./normalize.js";
import { isRecord, type ReadTextFile } from "./normalize-context.js";
import { describeValue, v3SchemaName, validateSchema } from "./schema.js";
import { SourceMap } from "./source-map.js";
import { parseYaml } from "./yaml-parse.js";

/** One stack file: the name shown in messages (as the user gave it) and its text. */
export interface StackFileInput {
  name: string;
  text: string;
}

export interface LoadStackOptions {
  files: readonly StackFileInput[];
  /** Directory relative paths resolve against: the first file's directory, as in docker/cli. */
  workingDir: string;
  /** The process environment (wins over `.env`). */
  env: Readonly<Record<string, string | undefined>>;
  /** Text of the `.env` file beside the first stack file, when there is one. */
  dotEnv?: { name: string; text: string } | undefined;
  /** Reads env_file entries; undefined when missing. */
  readFile: ReadTextFile;
  /**
   * Checks that only matter for a deploy: references resolve, dnsrr has no ingress ports, every
   * service has an image. On by default; off only to read fixtures such as docker/cli's
   * full-example.yml, which is a loader test and not deployable.
   */
  deployChecks?: boolean;
}

export interface LoadedStack {
  config: StackConfig;
  warnings: StackIssue[];
  /** Where each value came from (a later file's position wins), for messages about the result. */
  positions: SourceMap;
}

/**
 * Loads stack files into the normalized model: parse (YAML 1.1-style scalars, anchors, merge keys,
 * positions), interpolate, validate against the schemas, normalize, merge, check references. All
 * problems of a phase are reported together in one ShoalError; nothing partial is returned.
 */
export function loadStack(options: LoadStackOptions): LoadedStack {
  const diag = new Diagnostics();
  if (options.files.length === 0) {
    diag.error({ code: StackErrorCode.FileUnreadable, message: "no stack file given: use -c FILE" });
    diag.throwIfErrors();
  }
  const lookup = makeLookup(options, diag);

  const parsed: Array<{ name: string; value: Record<string, unknown>; positions: SourceMap }> = [];
  for (const f of options.files) {
    const p = parseYaml(f.name, f.text, diag);
    if (p === undefined) continue;
    if (!isRecord(p.value)) {
      diag.error({
        code: StackErrorCode.YamlInvalid,
        pos: { file: f.name, line: 1, col: 1 },
        message: `the file must be a mapping with services:, got ${describeValue(p.value)}`,
      });
      continue;
    }
    parsed.push({ name: f.name, value: p.value, positions: p.positions });
  }
  diag.throwIfErrors();

  let version: { value: string; file: string } | undefined;
  const validated: typeof parsed = [];
  for (const p of parsed) {
    const errorsBefore = diag.errors.length;
    const value = interpolateTree(p.value, p.positions, p.name, lookup, diag) as Record<string, unknown>;
    // A value left unexpanded would also fail the schema; one message per problem is enough.
    const interpolated = diag.errors.length === errorsBefore;
    const schemas = ["compose-spec"];
    const v = value.version;
    if (v !== undefined && v !== null) {
      const pos = p.positions.get(["version"]);
      const where = pos !== undefined ? { pos, path: "version" } : { file: p.name, path: "version" };
      if (typeof v !== "string") {
        diag.error({
          code: StackErrorCode.SchemaInvalid,
          ...where,
          message: `must be a string such as "3.8", got ${describeValue(v)}`,
        });
        continue;
      }
      const schema = v3SchemaName(v);
      if (schema === undefined) {
        diag.error({
          code: StackErrorCode.VersionUnsupported,
          ...where,
          message: `unsupported version ${JSON.stringify(v)}: stacks use version "3" to "3.13", or no version`,
        });
        continue;
      }
      const normalized = v === "3" ? "3.13" : v;
      if (version !== undefined && version.value !== normalized) {
        diag.error({
          code: StackErrorCode.VersionUnsupported,
          ...where,
          message: `version ${JSON.stringify(v)} differs from version ${JSON.stringify(version.value)} in ${version.file}`,
        });
        continue;
      }
      version ??= { value: normalized, file: p.name };
      schemas.unshift(schema);
    }
    if (!checkForbiddenKeys(value, p.positions, p.name, diag) && interpolated) {
      validateSchema(value, schemas, p.positions, diag);
    }
    validated.push({ ...p, value });
  }
  diag.throwIfErrors();

  const workingDir = resolve(options.workingDir);
  const normalized: NormalizedFile[] = validated.map((p) => ({
    file: p.name,
    positions: p.positions,
    config: normalizeFile(
      { file: p.name, positions: p.positions, diag, workingDir, lookup, readFile: options.readFile },
      p.value,
    ),
  }));
  diag.throwIfErrors();

  const merged = mergeConfigs(normalized.map((n) => n.config));
  if (version !== undefined) merged.version = version.value;
  if (options.deployChecks !== false) checkStack(normalized, merged, diag);
  diag.throwIfErrors();
  const positions = new SourceMap();
  for (const n of normalized) positions.overrideWith(n.positions);
  return { config: merged, warnings: diag.warnings, positions };
}

function makeLookup(options: LoadStackOptions, diag: Diagnostics): LookupEnv {
  const fromDotEnv = new Map<string, string>();
  if (options.dotEnv !== undefined) {
    const parsed = parseDotEnv(options.dotEnv.text);
    for (const p of parsed.problems) {
      diag.error({
        code: StackErrorCode.Interpolation,
        pos: { file: options.dotEnv.name, line: p.line, col: 1 },
        message: p.message,
      });
    }
    for (const [k, v] of parsed.vars) fromDotEnv.set(k, v);
  }
  return (name) => options.env[name] ?? fromDotEnv.get(name);
}

/** The directory docker/cli resolves relative paths against: the first file's. */
export function workingDirFor(firstFile: string): string {
  return dirname(resolve(firstFile));
}
