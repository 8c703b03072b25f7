export { TransportErrorCode } from "./errors.js";
export { GrpcTransport, type GrpcTransportOptions, type TransportStats } from "./grpc-transport.js";
export { LocalNetwork } from "./local-network.js";
export type { Transport, TransportHandler } from "./transport.js";
export { estimateWireBytes, fromWire, toWire } from "./wire.js";
