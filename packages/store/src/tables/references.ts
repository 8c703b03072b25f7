import type { TaskSpec } from "@shoal/proto";
import { distinct } from "./labels.js";

// The references a task template makes: which secrets, configs and networks it needs. Services
// and tasks index them so "is secret S in use" and "which tasks need config C" are look-ups.

export function secretIdsOf(spec: TaskSpec | undefined): string[] {
  return distinct((spec?.container?.secrets ?? []).map((s) => s.secretId));
}

export function configIdsOf(spec: TaskSpec | undefined): string[] {
  return distinct((spec?.container?.configs ?? []).map((c) => c.configId));
}

/** Network targets (ids, or names the control API did not resolve). */
export function networkTargetsOf(spec: TaskSpec | undefined): string[] {
  return distinct((spec?.networks ?? []).map((n) => n.target));
}
