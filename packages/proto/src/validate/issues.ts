import { formatBytes, formatDurationMs, ShoalError } from "@shoal/base";
import { ProtoErrorCode } from "../errors.js";

/**
 * One problem found in a spec. `path` uses the proto field names (snake_case, as in the .proto
 * files and the error texts); `message` is the full sentence people see, starting with the path:
 * `update_config.parallelism: -1 must not be negative`.
 */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** Collects issues while a validator walks a spec. */
export class IssueCollector {
  readonly issues: ValidationIssue[] = [];

  add(path: string, text: string): void {
    this.issues.push({ path, message: `${path}: ${text}` });
  }

  /** Numbers people type as counts: not negative, integral. */
  count(path: string, value: number | undefined): void {
    if (value === undefined) return;
    if (!Number.isInteger(value)) this.add(path, `${value} must be a whole number`);
    else if (value < 0) this.add(path, `${value} must not be negative`);
  }

  durationMs(path: string, value: number | undefined): void {
    if (value === undefined) return;
    if (!Number.isFinite(value)) this.add(path, `${value} is not a duration`);
    else if (value < 0) this.add(path, `${formatDurationMs(value)} must not be negative`);
  }

  bytes(path: string, value: number | undefined): void {
    if (value === undefined) return;
    if (!Number.isInteger(value)) this.add(path, `${value} must be a whole number of bytes`);
    else if (value < 0) this.add(path, `${formatBytes(value)} must not be negative`);
  }

  /**
   * Enum fields: the value must be one of the const object's members. `allowZero` accepts the
   * UNSPECIFIED zero value (meaning "use the default").
   */
  oneOf(path: string, value: number, members: Record<string, number>, allowZero = true): void {
    if (allowZero && value === 0) return;
    const known = Object.entries(members).filter(([name]) => name !== "UNSPECIFIED");
    if (known.some(([, v]) => v === value)) return;
    this.add(path, `${value} is not one of ${known.map(([name]) => enumDisplayName(name)).join(", ")}`);
  }

  notEmpty(path: string, value: string): boolean {
    if (value.trim() !== "") return true;
    this.add(path, "must not be empty");
    return false;
  }
}

/** "ON_FAILURE" → "on-failure": the spelling the CLI and stack files use. */
export function enumDisplayName(name: string): string {
  return name.toLowerCase().replaceAll("_", "-");
}

/** Display name of an enum value, e.g. enumValueName(UpdateOrder, 2) → "start-first". */
export function enumValueName(members: Record<string, number>, value: number): string {
  const entry = Object.entries(members).find(([, v]) => v === value);
  return entry === undefined ? String(value) : enumDisplayName(entry[0]);
}

/** Throws one PROTO_INVALID_SPEC error listing every issue; does nothing when there are none. */
export function throwIfIssues(what: string, issues: ValidationIssue[]): void {
  if (issues.length === 0) return;
  throw new ShoalError(
    ProtoErrorCode.InvalidSpec,
    `${what} is invalid: ${issues.map((i) => i.message).join("; ")}`,
    {
      details: { issues },
      hint:
        issues.length > 1 ? `fix the ${issues.length} problems above and try again` : "fix it and try again",
    },
  );
}
