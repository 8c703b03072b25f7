export { isAbortError } from "./abort.js";
export { percentile, reportFigure, runBenchFiles } from "./bench.js";
export { type Clock, ManualClock, systemClock, type TimerHandle } from "./clock.js";
export { BaseErrorCode, ShoalError, type ShoalErrorOptions } from "./errors.js";
export { ID_LENGTH, isId, newId } from "./ids.js";
export {
  formatIpv4,
  type Ipv4Subnet,
  type Ipv4SubnetLimits,
  ipv4SubnetContains,
  ipv4SubnetsOverlap,
  parseIpv4,
  parseIpv4Subnet,
} from "./ipv4.js";
export {
  createLogger,
  DEFAULT_LOG_LEVEL,
  LOG_LEVEL_ENV,
  LOG_LEVELS,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  loggerOptionsFromEnv,
  REDACTED_PATHS,
  silentLogger,
} from "./logger.js";
export { type Random, seededRandom, systemRandom } from "./random.js";
export { formatBytes, formatDurationMs, parseBytes, parseDurationMs } from "./units.js";
