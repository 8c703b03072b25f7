export { needsNoAllocation, trivialEndpoint } from "./allocator/allocation-free.js";
export { reconcileAllocator } from "./allocator/allocator.js";
export { ingressNetworkOf } from "./allocator/network-addresses.js";
export {
  allocateNetwork,
  allocationOf,
  type NetworkAllocation,
  resolveNetwork,
  withAllocation,
} from "./allocator/networks.js";
export { allocateNodeSubnets, nodeSubnetPoolOf } from "./allocator/node-subnets.js";
export {
  allocateServicePorts,
  checkPublishedPorts,
  DYNAMIC_PORT_FIRST,
  DYNAMIC_PORT_LAST,
  isEndpointCurrent,
  type PortAllocation,
} from "./allocator/ports.js";
export { holdsAddress, NodeAddressBook } from "./allocator/task-addresses.js";
export { Batcher, type BatchTiming, IMMEDIATE, ORCHESTRATOR_BATCH, SCHEDULER_BATCH } from "./batcher.js";
export { reconcileConstraints } from "./constraint-enforcer.js";
export { OrchErrorCode } from "./errors.js";
export { reconcileGlobal } from "./global.js";
export { jobIterationOf, reconcileGlobalJob, reconcileReplicatedJob } from "./jobs.js";
export { type LeaderLoop, type LeaderLoopsOptions, leaderLoops } from "./leader-loops.js";
export { reconcileNodeState } from "./node-state.js";
export { type Change, describePlan, emptyPlan, isEmptyPlan, type Plan, wakeAtMs } from "./plan.js";
export { historyLimitOf, mayStillReport, reconcileReaper } from "./reaper.js";
export { orchestratorStep, reconcileCluster } from "./reconcile-cluster.js";
export {
  DEFAULT_MAX_CONFLICT_RETRIES,
  ReconcileLoop,
  type ReconcileLoopOptions,
  type ReconcileStep,
} from "./reconcile-loop.js";
export { reconcileService } from "./reconcile-service.js";
export { reconcileReplicated, replicasOf, type ServiceReconcileInput } from "./replicated.js";
export { decideRestart, type RestartDecision, restartPolicyOf } from "./restart.js";
export { planScheduling } from "./scheduling-step.js";
export { orchestratorStoreOf } from "./store-adapter.js";
export type { OrchestratorStore, StoreChange, UpdateOutcome, ViewScope } from "./store-port.js";
export { planServiceUpdate, type UpdateInput } from "./update/plan-update.js";
export { isUp } from "./update/task-health.js";
export { updaterStep } from "./update/updater-step.js";
export { type ClusterView, type ReconcileContext, viewOf, WorkingView } from "./view.js";
