// @shoal/manager: what a manager node runs besides its agent — the cluster port (one mTLS gRPC
// server for Raft, CA, control API and dispatcher, every RPC authorized by certificate role),
// the error → gRPC status mapping, and the leader-only component runner.

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
export { ManagerErrorCode } from "./errors.js";
export {
  fromStatus,
  grpcStatusFor,
  SHOAL_CODE_TRAILER,
  SHOAL_DETAILS_TRAILER,
  SHOAL_HINT_TRAILER,
  toStatus,
} from "./grpc-status.js";
export {
  DEFAULT_COMPONENT_RESTART_DELAY_MS,
  type LeaderComponent,
  LeaderComponents,
  type LeaderComponentsOptions,
  type LeadershipSource,
} from "./leader-components.js";
export {
  checkQuorumSafety,
  type ManagerMember,
  type MembershipChange,
  type QuorumCheck,
} from "./quorum-safety.js";
export { type RpcContext, streamHandler, unaryHandler } from "./rpc-handler.js";
