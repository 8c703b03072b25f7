/** Error codes of the orchestrator package. Decisions are plans (values); these are refusals. */
export const OrchErrorCode = {
  /**
   * A service asks for an ingress published port that another service already holds; the message
   * names that service. Returned by `checkPublishedPorts` for the control API to refuse the write.
   */
  PublishedPortInUse: "ORCH_PUBLISHED_PORT_IN_USE",
  /** The dynamic ingress range (30000–32767) has no free port left for the protocol. */
  PortRangeExhausted: "ORCH_PORT_RANGE_EXHAUSTED",
  /** The cluster's node subnet pool is not a CIDR that holds at least one node subnet. */
  InvalidSubnetPool: "ORCH_INVALID_SUBNET_POOL",
  /** A network is created with the name of one that exists (names are unique). */
  NetworkNameInUse: "ORCH_NETWORK_NAME_IN_USE",
  /** A network's subnet overlaps another network's subnet or the node subnet pool. */
  NetworkSubnetOverlap: "ORCH_NETWORK_SUBNET_OVERLAP",
  /** A network's subnet (or gateway) lies outside the cluster's address pool (or its subnet). */
  NetworkSubnetOutsidePool: "ORCH_NETWORK_SUBNET_OUTSIDE_POOL",
  /** The cluster's address pool has no free subnet left for a new network. */
  NetworkPoolExhausted: "ORCH_NETWORK_POOL_EXHAUSTED",
} as const;
export type OrchErrorCode = (typeof OrchErrorCode)[keyof typeof OrchErrorCode];
