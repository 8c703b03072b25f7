export { addressAt, intToIp, ipToInt, offsetOf, parseSubnet, type Subnet } from "./cidr.js";
export { NetworkErrorCode } from "./errors.js";
export { Ipam } from "./ipam.js";
export {
  type Attachment,
  type AttachRequest,
  NetworkMode,
  NodeNetwork,
  type NodeNetworkOptions,
  type PortRequest,
} from "./node-network.js";
export { type DnsConfig, renderHosts, renderResolvConf } from "./resolv.js";
export { type CommandRunner, createRunner, type RunResult } from "./runner.js";
export { type Lease, type NetworkState, type PortBinding, Protocol } from "./state.js";
