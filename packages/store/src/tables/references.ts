import type { TaskSpec } from "@shoal/proto";
import { keysCachedWhenFrozen } from "./frozen-keys.js";
import { distinct } from "./labels.js";

// The references a task template makes: which secrets, configs and networks it needs. Services
// and tasks index them so "is secret S in use" and "which tasks need config C" are look-ups.

export const secretIdsOf = keysCachedWhenFrozen<TaskSpec>((spec) =>
  distinct((spec?.container?.secrets ?? []).map((s) => s.secretId)),
);

export const configIdsOf = keysCachedWhenFrozen<TaskSpec>((spec) =>
  distinct((spec?.container?.configs ?? []).map((c) => c.configId)),
);

/** Network targets (ids, or names the control API did not resolve). */
export const networkTargetsOf = keysCachedWhenFrozen<TaskSpec>((spec) =>
  distinct((spec?.networks ?? []).map((n) => n.target)),
);
