// @shoal/manager: what a manager node runs besides its agent — the cluster port (one mTLS gRPC
// server for Raft, CA, control API and dispatcher, every RPC authorized by certificate role),
// the error → gRPC status mapping, and the leader-only component runner.

export { type NodeCaOptions, NodeCaService } from "./ca/node-ca.js";
export {
  type ClusterInit,
  type ClusterInitOptions,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_NODE_SUBNET_POOL,
  DEFAULT_NODE_SUBNET_SIZE,
  defaultClusterSpec,
  initCluster,
} from "./cluster-init.js";
export {
  ClusterServer,
  type ClusterServerOptions,
  type ClusterServices,
  DEFAULT_CLUSTER_PORT,
  DEFAULT_SHUTDOWN_GRACE_MS,
} from "./cluster-server.js";
export { ControlApi, type ControlApiOptions } from "./control/control-api.js";
export { Dispatcher, type DispatcherOptions } from "./dispatcher/dispatcher.js";
export {
  DEFAULT_HEARTBEAT_JITTER,
  DEFAULT_HEARTBEAT_PERIOD_MS,
  DEFAULT_LEADER_CHANGE_GRACE_PERIODS,
  DEFAULT_MISSED_HEARTBEATS,
} from "./dispatcher/node-liveness.js";
export { DEFAULT_STATUS_FLUSH_MS } from "./dispatcher/status-batcher.js";
export { ManagerErrorCode } from "./errors.js";
export {
  fromStatus,
  grpcStatusFor,
  SHOAL_CODE_TRAILER,
  SHOAL_DETAILS_TRAILER,
  SHOAL_HINT_TEXT_TRAILER,
  SHOAL_HINT_TRAILER,
  toStatus,
} from "./grpc-status.js";
export { type IssuedNode, requestNodeCertificate } from "./join.js";
export {
  DEFAULT_COMPONENT_RESTART_DELAY_MS,
  type LeaderComponent,
  LeaderComponents,
  type LeaderComponentsOptions,
  type LeadershipSource,
} from "./leader-components.js";
export { LEADER_TRANSFER_TIMEOUT_MS, Manager, type ManagerOptions } from "./manager.js";
export {
  PROMOTE_CHECK_MS,
  PROMOTE_MAX_LAG_ENTRIES,
  RaftMembership,
  type RaftMembershipOptions,
} from "./membership/raft-membership.js";
export { type ManagerIdentity, readTls, writeTls } from "./node-files.js";
export {
  checkQuorumSafety,
  type ManagerMember,
  type MembershipChange,
  type QuorumCheck,
} from "./quorum-safety.js";
export { renewNodeCertificate } from "./renewal.js";
export { type RpcContext, streamHandler, unaryHandler } from "./rpc-handler.js";
export {
  type AgentView,
  SimulatedAgents,
  type SimulatedAgentsOptions,
  type SimulatedNode,
} from "./sim/simulated-agents.js";
