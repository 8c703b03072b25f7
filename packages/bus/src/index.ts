export { type BusConnectOptions, connectBus } from "./connect.js";
export { BusErrorCode } from "./errors.js";
export { formatHostPort, type HostPort, type NodeAccess, parseHostPort } from "./nats-config.js";
export {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_NATS_BINARY,
  NatsSupervisor,
  type NatsSupervisorOptions,
  type NatsTlsMaterial,
} from "./nats-supervisor.js";
