// Public API of the container side of @shoal/runtime.
export {
  DEFAULT_CAPABILITIES,
  KNOWN_CAPABILITIES,
  normalizeCapability,
  resolveCapabilities,
} from "./capabilities.js";
export { cpuPercent, readStats } from "./cgroups.js";
export { CrashPoint } from "./crash-points.js";
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
export type { RecoveryReport } from "./recovery.js";
export {
  ContainerRuntime,
  LABEL_NODE_ID,
  LABEL_SERVICE_ID,
  LABEL_SERVICE_NAME,
  LABEL_TASK_ID,
  LABEL_TASK_SLOT,
  type StopOptions,
} from "./runtime.js";
export {
  type ContainerRuntimeOptions,
  DEFAULT_CONMON_PATH,
  DEFAULT_CREATE_TIMEOUT_MS,
  DEFAULT_HOST_RESOLV_CONF_PATH,
  DEFAULT_INIT_PATH,
  DEFAULT_LOG_MAX_FILES,
  DEFAULT_LOG_MAX_SIZE_BYTES,
  DEFAULT_LOG_SYNC_INTERVAL_MS,
  DEFAULT_POLL_MS,
  DEFAULT_RUNC_PATH,
  DEFAULT_STOP_GRACE_MS,
  LOG_FOLLOW_MIN_POLL_MS,
} from "./runtime-options.js";
export { normalizeSignal, signalNumber } from "./signals.js";
export * from "./types.js";
export { parseGroup, parsePasswd, type ResolvedUser, resolveGroups, resolveUser } from "./user.js";
