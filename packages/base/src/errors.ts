/**
 * One error type for the whole project. `code` is stable (scripts and the gRPC mapping key on it);
 * `message` is for people: lowercase, subject first, values quoted, limit stated.
 */
export interface ShoalErrorOptions {
  cause?: unknown;
  /** A line telling the user what to do next; the CLI prints it under the error. */
  hint?: string;
  /** Machine-readable facts about the failure (field path, file position, …). */
  details?: Record<string, unknown>;
}

export class ShoalError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: ShoalErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ShoalError";
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  /** True when `err` is a ShoalError, optionally with the given code. */
  static is(err: unknown, code?: string): err is ShoalError {
    return err instanceof ShoalError && (code === undefined || err.code === code);
  }
}

/** Codes declared by this package. Other packages declare theirs in their own errors.ts. */
export const BaseErrorCode = {
  /** A duration string such as "1m30s" could not be parsed. */
  InvalidDuration: "BASE_INVALID_DURATION",
  /** A byte size such as "512M" could not be parsed. */
  InvalidByteSize: "BASE_INVALID_BYTE_SIZE",
  /** A Random was asked for a value from an empty range or list. */
  EmptyRange: "BASE_EMPTY_RANGE",
  /** An IPv4 subnet is not "a.b.c.d/p", its prefix is out of range, or it has host bits set. */
  InvalidSubnet: "BASE_INVALID_SUBNET",
  /** SHOAL_LOG_LEVEL (or another level given as text) is not one of LOG_LEVELS. */
  InvalidLogLevel: "BASE_INVALID_LOG_LEVEL",
} as const;
export type BaseErrorCode = (typeof BaseErrorCode)[keyof typeof BaseErrorCode];
