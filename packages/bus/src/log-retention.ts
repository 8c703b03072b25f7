import { parseBytes, parseDurationMs, ShoalError } from "@shoal/base";
import { BusErrorCode } from "./errors.js";

export interface LogRetention {
  maxAgeMs: number;
  maxBytes: number;
}

/** Issue 19's default: 7 days or 1 GiB per service, whichever comes first. */
export const DEFAULT_LOG_RETENTION: LogRetention = { maxAgeMs: 7 * 24 * 3600 * 1000, maxBytes: 1024 ** 3 };

/** Service labels that override the cluster's retention for that service. */
export const LOG_MAX_AGE_LABEL = "shoal.logs.max-age";
export const LOG_MAX_BYTES_LABEL = "shoal.logs.max-bytes";

/** The retention of one service: the cluster's, with the service's labels on top. */
export function logRetentionFor(
  labels: Readonly<Record<string, string>>,
  cluster = DEFAULT_LOG_RETENTION,
): LogRetention {
  const age = labels[LOG_MAX_AGE_LABEL];
  const bytes = labels[LOG_MAX_BYTES_LABEL];
  const r = {
    maxAgeMs:
      age === undefined ? cluster.maxAgeMs : labelValue(() => parseDurationMs(age), LOG_MAX_AGE_LABEL, age),
    maxBytes:
      bytes === undefined
        ? cluster.maxBytes
        : labelValue(() => parseBytes(bytes), LOG_MAX_BYTES_LABEL, bytes),
  };
  if (!(r.maxAgeMs > 0) || !(r.maxBytes > 0))
    throw new ShoalError(
      BusErrorCode.InvalidOption,
      `log retention ${JSON.stringify(r)} must be above zero`,
      {
        hint: `set ${LOG_MAX_AGE_LABEL} (e.g. 168h) and ${LOG_MAX_BYTES_LABEL} (e.g. 1G) to positive values`,
      },
    );
  return r;
}

function labelValue(parse: () => number, label: string, value: string): number {
  try {
    return parse();
  } catch (err) {
    throw new ShoalError(BusErrorCode.InvalidOption, `label ${label}="${value}" is not a valid value`, {
      cause: err,
      hint: `${LOG_MAX_AGE_LABEL} takes a duration (168h, 30m), ${LOG_MAX_BYTES_LABEL} a size (1G, 512M)`,
    });
  }
}
