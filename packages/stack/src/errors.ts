import { ShoalError } from "@shoal/base";
import { formatPos, type Pos } from "./source-map.js";

/** Codes for everything that can be wrong with a stack file. Each names when it happens. */
export const StackErrorCode = {
  /** A file could not be read (missing, unreadable). */
  FileUnreadable: "STACK_FILE_UNREADABLE",
  /** The YAML itself is broken: syntax, duplicate keys, bad aliases, several documents. */
  YamlInvalid: "STACK_YAML_INVALID",
  /** A `$VAR` expression is malformed or a required variable is not set. */
  Interpolation: "STACK_INTERPOLATION",
  /** The file does not match the compose schema (wrong type, unknown key, bad format). */
  SchemaInvalid: "STACK_SCHEMA_INVALID",
  /** The `version` is not one Swarm stacks accept (3.x) or differs between files. */
  VersionUnsupported: "STACK_VERSION_UNSUPPORTED",
  /** A key Swarm refuses (extends, volumes_from, cpu_shares, …). */
  ForbiddenKey: "STACK_FORBIDDEN_KEY",
  /** A value passes the schema but means nothing (bad port, bad duration, bad byte size, …). */
  ValueInvalid: "STACK_VALUE_INVALID",
  /** A service names a network/secret/config/volume the file does not define. */
  UndefinedReference: "STACK_UNDEFINED_REFERENCE",
  /** An env_file entry or a secret/config file could not be read. */
  ReferencedFileUnreadable: "STACK_REFERENCED_FILE_UNREADABLE",
  /** A converted spec breaks a rule the manager enforces (resource minimums, name rules, …). */
  SpecInvalid: "STACK_SPEC_INVALID",
  /** Several problems at once; `details.errors` lists them all. */
  Invalid: "STACK_INVALID",
} as const;
export type StackErrorCode = (typeof StackErrorCode)[keyof typeof StackErrorCode];

/** One problem (or warning) found in a stack file, with where it is. */
export interface StackIssue {
  code: StackErrorCode;
  message: string;
  /** Dotted key path such as `services.web.deploy.replicas`; absent for whole-file problems. */
  path?: string;
  /** Where in which file; absent only when no file position applies (e.g. no files given). */
  pos?: Pos;
  /** The file when there is no line/column (file unreadable). */
  file?: string;
}

/** `stack.yml:14:7: services.web.deploy.replicas: must be a number, got "three"` */
export function formatIssue(issue: StackIssue): string {
  const where =
    issue.pos !== undefined ? `${formatPos(issue.pos)}: ` : issue.file !== undefined ? `${issue.file}: ` : "";
  const path = issue.path !== undefined && issue.path !== "" ? `${issue.path}: ` : "";
  return `${where}${path}${issue.message}`;
}

/**
 * Collects every problem of a load so that the user sees all of them at once; the loader throws
 * only at phase boundaries, never with a partial result.
 */
export class Diagnostics {
  readonly errors: StackIssue[] = [];
  readonly warnings: StackIssue[] = [];

  error(issue: StackIssue): void {
    // The same fact can be found twice (two schemas, two passes); say it once.
    const text = formatIssue(issue);
    if (this.errors.some((e) => formatIssue(e) === text)) return;
    this.errors.push(issue);
  }

  warn(issue: StackIssue): void {
    const text = formatIssue(issue);
    if (this.warnings.some((e) => formatIssue(e) === text)) return;
    this.warnings.push(issue);
  }

  get hasErrors(): boolean {
    return this.errors.length > 0;
  }

  /** Throws one ShoalError carrying every error found so far, if there is any. */
  throwIfErrors(): void {
    if (this.errors.length > 0) throw stackError(this.errors);
  }
}

/** The error thrown by the loader: one line per problem, all of them in `details.errors`. */
export function stackError(issues: readonly StackIssue[]): ShoalError {
  // Files in the order given, then by position inside each file.
  const fileOrder = new Map<string, number>();
  for (const i of issues) {
    const f = i.pos?.file ?? i.file ?? "";
    if (!fileOrder.has(f)) fileOrder.set(f, fileOrder.size);
  }
  const rank = (i: StackIssue) => fileOrder.get(i.pos?.file ?? i.file ?? "") ?? 0;
  const sorted = [...issues].sort(
    (a, b) =>
      rank(a) - rank(b) || (a.pos?.line ?? 0) - (b.pos?.line ?? 0) || (a.pos?.col ?? 0) - (b.pos?.col ?? 0),
  );
  const lines = sorted.map(formatIssue);
  const code = sorted.length === 1 ? (sorted[0] as StackIssue).code : StackErrorCode.Invalid;
  const where = fileOrder.size > 1 ? "the stack files" : "the stack file";
  const message =
    lines.length === 1
      ? (lines[0] as string)
      : `${lines.length} problems in ${where}:\n  ${lines.join("\n  ")}`;
  return new ShoalError(code, message, {
    details: { errors: sorted.map((i) => ({ ...i, text: formatIssue(i) })) },
    hint: "fix the file at the positions shown and run `shoal stack config` again",
  });
}
