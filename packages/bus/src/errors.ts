/** Codes of @shoal/bus errors; each says when it happens. */
export const BusErrorCode = {
  /** An option given to a bus component is malformed (address, node id, retention, …). */
  InvalidOption: "BUS_INVALID_OPTION",
  /** nats-server could not be started, or did not accept connections in time. */
  ServerStartFailed: "BUS_SERVER_START_FAILED",
  /** A call on a component after its `close()`. */
  Closed: "BUS_CLOSED",
  /** The metrics listener could not bind its address. */
  MetricsListenFailed: "BUS_METRICS_LISTEN_FAILED",
} as const;
export type BusErrorCode = (typeof BusErrorCode)[keyof typeof BusErrorCode];
