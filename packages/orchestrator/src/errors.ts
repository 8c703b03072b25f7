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
  /** The in-memory test store refused an update whose read version is stale (a conflict). */
  VersionConflict: "ORCH_VERSION_CONFLICT",
} as const;
export type OrchErrorCode = (typeof OrchErrorCode)[keyof typeof OrchErrorCode];
