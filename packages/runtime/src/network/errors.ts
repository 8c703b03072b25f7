/** Error codes of node networking. */
export const NetworkErrorCode = {
  /** The configured subnet is not an IPv4 CIDR, or too small to hold a gateway and a container. */
  InvalidSubnet: "NETWORK_INVALID_SUBNET",
  /** The configured subnet is not the recorded one while attached containers still use the old one. */
  SubnetChanged: "NETWORK_SUBNET_CHANGED",
  /** Every address of the node's subnet is leased. */
  SubnetExhausted: "NETWORK_SUBNET_EXHAUSTED",
  /** A requested address is outside the node's subnet, its gateway, or leased to another container. */
  AddressUnavailable: "NETWORK_ADDRESS_UNAVAILABLE",
  /** A requested port is not a whole number from 1 to 65535, or is asked for twice by one container. */
  InvalidPort: "NETWORK_INVALID_PORT",
  /** A published port is taken by another container or a process of the node. */
  PortInUse: "NETWORK_PORT_IN_USE",
  /** No free port was left in the ephemeral range for a port published without a number. */
  NoEphemeralPort: "NETWORK_NO_EPHEMERAL_PORT",
  /** An `ip`, `iptables` or `conntrack` command failed. */
  CommandFailed: "NETWORK_COMMAND_FAILED",
  /** A method was called after `close()`. */
  Closed: "NETWORK_CLOSED",
  /** The recorded network state file cannot be read. */
  StateCorrupt: "NETWORK_STATE_CORRUPT",
  /** An overlay desired state is inconsistent: overlapping subnets, a name or VNI in use, an address outside its subnet… */
  OverlayInvalidSpec: "NETWORK_OVERLAY_INVALID_SPEC",
  /** A plain container asked to join an overlay network that is not attachable. */
  OverlayNotAttachable: "NETWORK_OVERLAY_NOT_ATTACHABLE",
  /** Some overlay endpoints could not be set up (their namespace is missing, say); the rest was applied. */
  OverlayEndpointFailed: "NETWORK_OVERLAY_ENDPOINT_FAILED",
} as const;
export type NetworkErrorCode = (typeof NetworkErrorCode)[keyof typeof NetworkErrorCode];
