import { pino } from "pino";
import { BaseErrorCode, ShoalError } from "./errors.js";

export type Logger = pino.Logger;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The level when none is given. */
export const DEFAULT_LOG_LEVEL: LogLevel = "info";
/** The environment variable a composition root reads the level from (loggerOptionsFromEnv). */
export const LOG_LEVEL_ENV = "SHOAL_LOG_LEVEL";

/**
 * Paths whose values never reach a log line: secret payloads, join tokens, keys. pino's redact
 * works on known paths, so every place that logs such an object uses one of these names.
 */
export const REDACTED_PATHS = [
  "token",
  "joinToken",
  "*.token",
  "*.joinToken",
  "secret",
  "*.secret",
  "password",
  "*.password",
  "key",
  "*.key",
  "privateKey",
  "*.privateKey",
  // @shoal/pki's names: a node's PEM key (NodeTlsMaterial, NodeKeyAndCsr) and the sealed CA key.
  "keyPem",
  "*.keyPem",
  "*.*.keyPem",
  "caKeySealedPem",
  "*.caKeySealedPem",
  // Secret payloads (SecretSpec.data one level down, as in `{ spec }`), and raft entries, whose
  // data may carry a secret being written.
  "data",
  "*.data",
  "*.secretData",
  // The Cluster object's tokens (`joinTokens.worker`/`.manager`) and its CA key (`rootCa.caKey`).
  "joinTokens",
  "*.joinTokens",
  "caKey",
  "*.caKey",
  // Registry credentials sent with a task (Task.registryAuth), at any depth the agent logs a task.
  "registryAuth",
  "*.registryAuth",
  "*.*.registryAuth",
  "*.*.caKey",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
];

export interface LoggerOptions {
  /** Default DEFAULT_LOG_LEVEL. */
  level?: LogLevel;
  /** Process name, e.g. "shoal-daemon". */
  name?: string;
  /** Human-readable output (pino-pretty) instead of JSON lines. Default false. */
  pretty?: boolean;
  /** Where JSON lines go; defaults to stderr (fd 2). */
  destination?: pino.DestinationStream;
  /** Extra fields on every line (e.g. nodeId). */
  base?: Record<string, unknown>;
}

/**
 * The level and output form a composition root resolves once from its environment: the level
 * from SHOAL_LOG_LEVEL (an unknown value is an error, not silently "info"), pretty output when a
 * person is watching stderr. Pure: the caller passes `process.env` and `process.stderr.isTTY`.
 */
export function loggerOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  stderrIsTty: boolean,
): Pick<LoggerOptions, "level" | "pretty"> {
  const raw = env[LOG_LEVEL_ENV];
  const pretty = stderrIsTty;
  if (raw === undefined || raw === "") return { level: DEFAULT_LOG_LEVEL, pretty };
  const level = LOG_LEVELS.find((l) => l === raw.trim().toLowerCase());
  if (level === undefined) {
    throw new ShoalError(BaseErrorCode.InvalidLogLevel, `${LOG_LEVEL_ENV} "${raw}" is not a log level`, {
      hint: `use one of ${LOG_LEVELS.join(", ")}`,
      details: { value: raw },
    });
  }
  return { level, pretty };
}

/**
 * The one root logger of a process. Components take a child: `root.child({ module: "raft" })`.
 * It reads no environment: the composition root resolves its options (loggerOptionsFromEnv).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? DEFAULT_LOG_LEVEL;
  const pretty = options.pretty ?? false;
  const config: pino.LoggerOptions = {
    level,
    base: { ...(options.name === undefined ? {} : { name: options.name }), ...options.base },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    serializers: { err: pino.stdSerializers.err },
  };
  if (options.destination !== undefined) return pino(config, options.destination);
  if (pretty) {
    return pino({
      ...config,
      transport: {
        target: "pino-pretty",
        options: { destination: 2, colorize: true, ignore: "pid,hostname" },
      },
    });
  }
  return pino(config, pino.destination(2));
}

/** A logger that drops everything: the default for libraries and unit tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
