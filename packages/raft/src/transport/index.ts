export { TransportErrorCode } from "./errors.js";
export {
  DEFAULT_INITIAL_BACKOFF_MS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_MAX_QUEUED_MESSAGES,
  GrpcTransport,
  type GrpcTransportOptions,
  SERVER_SHUTDOWN_GRACE_MS,
  type TransportStats,
} from "./grpc-transport.js";
export { LocalNetwork } from "./local-network.js";
export type { Transport, TransportHandler } from "./transport.js";
export { estimateWireBytes, fromWire, toWire } from "./wire.js";
