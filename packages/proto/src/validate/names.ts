import type { IssueCollector } from "./issues.js";

/** Longest service or network name: one DNS label. */
export const MAX_SERVICE_NAME_LENGTH = 63;
/** Longest secret or config name. */
export const MAX_OBJECT_NAME_LENGTH = 64;

// Service names become DNS names (`<service>`, `tasks.<service>`), so they follow swarmkit's DNS
// label rule: letters and digits, with "-" or "_" only between them.
const SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[a-zA-Z0-9]+)*$/;
// Secret and config names become file names by default, so "." is allowed in the middle as well.
const OBJECT_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;

/** Checks a service (or network) name. */
export function checkServiceName(issues: IssueCollector, path: string, name: string): void {
  if (!issues.notEmpty(path, name)) return;
  if (name.length > MAX_SERVICE_NAME_LENGTH) {
    issues.add(
      path,
      `"${name}" is ${name.length} characters long, above the ${MAX_SERVICE_NAME_LENGTH} maximum`,
    );
  } else if (!SERVICE_NAME.test(name)) {
    issues.add(
      path,
      `"${name}" is not a valid name; use letters, digits, "-" and "_", starting and ending with a letter or digit`,
    );
  }
}

/** Checks a secret or config name. */
export function checkObjectName(issues: IssueCollector, path: string, name: string): void {
  if (!issues.notEmpty(path, name)) return;
  if (name.length > MAX_OBJECT_NAME_LENGTH) {
    issues.add(
      path,
      `"${name}" is ${name.length} characters long, above the ${MAX_OBJECT_NAME_LENGTH} maximum`,
    );
  } else if (!OBJECT_NAME.test(name)) {
    issues.add(
      path,
      `"${name}" is not a valid name; use letters, digits, "-", "_" and ".", starting and ending with a letter or digit`,
    );
  }
}

/** Label keys must not be empty (values may be). */
export function checkLabels(issues: IssueCollector, path: string, labels: Record<string, string>): void {
  for (const key of Object.keys(labels)) {
    if (key.trim() === "") issues.add(path, "label keys must not be empty");
  }
}
