// @shoal/proto: the wire API (generated from proto/shoal/v1 by `npm run proto`) plus the
// hand-written spec defaults and validation. Generated names are exported flat: message types and
// their codecs (`ServiceSpec`, `ServiceSpec.encode`), enums as const objects (`TaskState.RUNNING`)
// with `xxxToJSON`/`xxxFromJSON`, and for each gRPC service `XxxService` (the grpc-js definition),
// `XxxServer` (the handler interface) and `XxxClient` (the client class).

// Hand-written: defaults, validation, errors.
export {
  ClusterDefaults,
  HealthcheckDefaults,
  ServiceDefaults,
  withClusterDefaults,
  withServiceDefaults,
} from "./defaults.js";
export { ProtoErrorCode } from "./errors.js";
export * from "./gen/shoal/v1/admin.js";
export * from "./gen/shoal/v1/ca.js";
export * from "./gen/shoal/v1/control.js";
export * from "./gen/shoal/v1/dispatcher.js";
export * from "./gen/shoal/v1/logs.js";
export * from "./gen/shoal/v1/objects.js";
export * from "./gen/shoal/v1/raft.js";
export * from "./gen/shoal/v1/specs.js";
export * from "./gen/shoal/v1/types.js";
export { isForwardTaskTransition, isJobService, isTaskTerminal, serviceModeKind } from "./task-state.js";
export {
  CONSTRAINT_KEYS,
  type Constraint,
  type ConstraintParse,
  isConstraintKey,
  isSpreadKey,
  parseConstraint,
  SPREAD_KEYS,
} from "./validate/constraint.js";
export { isKnownSignal } from "./validate/container-spec.js";
export { ipVersion, isCidr } from "./validate/ip.js";
export { enumDisplayName, enumValueName, type ValidationIssue } from "./validate/issues.js";
export { MAX_OBJECT_NAME_LENGTH, MAX_SERVICE_NAME_LENGTH } from "./validate/names.js";
export {
  assertValidClusterSpec,
  assertValidConfigSpec,
  assertValidNetworkSpec,
  assertValidNodeSpec,
  assertValidSecretSpec,
  MAX_CONFIG_BYTES,
  MAX_SECRET_BYTES,
  MIN_NODE_CERT_EXPIRY_MS,
  validateClusterSpec,
  validateConfigSpec,
  validateNetworkSpec,
  validateNodeSpec,
  validateSecretSpec,
} from "./validate/object-specs.js";
export { formatNanoCpus, MIN_MEMORY_BYTES, MIN_NANO_CPUS } from "./validate/resources.js";
export { assertValidServiceSpec, MAX_PORT, validateServiceSpec } from "./validate/service-spec.js";
