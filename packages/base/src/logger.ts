import { pino } from "pino";

export type Logger = pino.Logger;
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

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
  "*.*.caKey",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
];

export interface LoggerOptions {
  level?: LogLevel;
  /** Process name, e.g. "shoal-daemon". */
  name?: string;
  /** Human-readable output (pino-pretty). Defaults to true when stderr is a TTY. */
  pretty?: boolean;
  /** Where JSON lines go; defaults to stderr (fd 2). */
  destination?: pino.DestinationStream;
  /** Extra fields on every line (e.g. nodeId). */
  base?: Record<string, unknown>;
}

/**
 * The one root logger of a process. Components take a child: `root.child({ module: "raft" })`.
 * Output is JSON unless a person is watching (TTY) or `pretty` is set.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.SHOAL_LOG_LEVEL as LogLevel | undefined) ?? "info";
  const pretty = options.pretty ?? (options.destination === undefined && process.stderr.isTTY === true);
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
