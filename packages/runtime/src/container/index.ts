// Public API of the container side of @shoal/runtime.
export {
  DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  normalizeCapability,
  resolveCapabilities,
} from "./capabilities.js";
export { cpuPercent, readStats } from "./cgroups.js";
export { ContainerErrorCode } from "./errors.js";
export { type EffectiveHealthcheck, initialHealth, nextHealth, resolveHealthcheck } from "./health.js";
export { HealthMonitor, type HealthMonitorDeps, type HealthProbe } from "./health-monitor.js";
export type { ReadLogsOptions } from "./log-files.js";
export {
  formatLogEntry,
  LogLineAssembler,
  logTimeMs,
  parseLogLine,
  parseLogText,
  type RawLogRecord,
} from "./log-format.js";
export { LogRotator, type RotateOptions, rotateLog } from "./log-rotator.js";
export { MASKED_PATHS, READONLY_PATHS } from "./oci-defaults.js";
export { buildOciSpec, type OciSpec, type OciSpecInput } from "./oci-spec.js";
export { DEFAULT_PATH, mergeEnv, resolveArgv } from "./process-args.js";
export {
  ContainerRuntime,
  type ContainerRuntimeOptions,
  LABEL_NODE_ID,
  LABEL_SERVICE_ID,
  LABEL_SERVICE_NAME,
  LABEL_TASK_ID,
  LABEL_TASK_SLOT,
  type RecoveryReport,
  type StopOptions,
} from "./runtime.js";
export { normalizeSignal, signalNumber } from "./signals.js";
export * from "./types.js";
export { parseGroup, parsePasswd, type ResolvedUser, resolveGroups, resolveUser } from "./user.js";
