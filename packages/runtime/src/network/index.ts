export { addressAt, intToIp, ipToInt, offsetOf, parseSubnet, type Subnet } from "./cidr.js";
export { DnsResolver, type DnsResolverOptions } from "./dns-resolver.js";
export { buildDnsView, type DnsView, resolveName } from "./dns-view.js";
export { NetworkErrorCode } from "./errors.js";
export { Ipam } from "./ipam.js";
export {
  type Attachment,
  type AttachRequest,
  DEFAULT_BRIDGE,
  DEFAULT_CHAIN_PREFIX,
  DEFAULT_EPHEMERAL_PORTS,
  DEFAULT_NETNS_PREFIX,
  DEFAULT_VETH_PREFIX,
  NetworkMode,
  NodeNetwork,
  type NodeNetworkOptions,
  type PortRequest,
} from "./node-network.js";
export { OverlayNetworks, type OverlayNetworksOptions } from "./overlay.js";
export {
  macOf,
  type OverlayDesired,
  type OverlayEndpoint,
  OverlayErrorCode,
  type OverlayNetworkSpec,
  type OverlayPeer,
  type OverlayService,
  type OverlayTask,
  validateOverlay,
} from "./overlay-spec.js";
export { type DnsConfig, renderHosts, renderResolvConf } from "./resolv.js";
export { type CommandRunner, createRunner, type RunResult } from "./runner.js";
export { type Lease, type NetworkState, type PortBinding, Protocol } from "./state.js";
