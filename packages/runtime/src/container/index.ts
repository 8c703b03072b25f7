// Public API of the container side of @shoal/runtime.
export {
  DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  normalizeCapability,
  resolveCapabilities,
} from "./capabilities.js";
export { ContainerErrorCode } from "./errors.js";
export { type EffectiveHealthcheck, initialHealth, nextHealth, resolveHealthcheck } from "./health.js";
export { HealthMonitor, type HealthMonitorDeps, type HealthProbe } from "./health-monitor.js";
export {
  formatLogEntry,
  LogLineAssembler,
  logTimeMs,
  parseLogLine,
  parseLogText,
  type RawLogRecord,
} from "./log-format.js";
export { MASKED_PATHS, READONLY_PATHS } from "./oci-defaults.js";
export { buildOciSpec, type OciSpec, type OciSpecInput } from "./oci-spec.js";
export { DEFAULT_PATH, mergeEnv, resolveArgv } from "./process-args.js";
export { normalizeSignal, signalNumber } from "./signals.js";
export * from "./types.js";
export { parseGroup, parsePasswd, type ResolvedUser, resolveUser } from "./user.js";
