export { type ClusterEvent, EventType, eventsOfChange, leaderEvent } from "./cluster-event.js";
export { type BusConnectOptions, connectBus } from "./connect.js";
export { BusErrorCode } from "./errors.js";
export {
  DEFAULT_EVENT_RETENTION_MS,
  EventPublisher,
  type EventPublisherOptions,
  type EventQuery,
  ensureEventStream,
  readEvents,
} from "./events.js";
export type { LogLine, LogOrigin } from "./log-batch.js";
export { formatLogLine, type LogFormatOptions, logContext } from "./log-prefix.js";
export { type LogQuery, type LogReadItem, readLogs } from "./log-reader.js";
export {
  DEFAULT_LOG_RETENTION,
  LOG_MAX_AGE_LABEL,
  LOG_MAX_BYTES_LABEL,
  type LogRetention,
  logRetentionFor,
} from "./log-retention.js";
export { LogShipper, type LogShipperOptions, type LogSource } from "./log-shipper.js";
export { ensureLogStream, LOG_DEDUP_WINDOW_MS, removeLogStream } from "./log-streams.js";
export type { ShoalMetrics } from "./metrics.js";
export { loadMetrics } from "./metrics-loader.js";
export { MetricsServer } from "./metrics-server.js";
export { formatHostPort, type HostPort, type NodeAccess, parseHostPort } from "./nats-config.js";
export {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_NATS_BINARY,
  NatsSupervisor,
  type NatsSupervisorOptions,
  type NatsTlsMaterial,
} from "./nats-supervisor.js";
