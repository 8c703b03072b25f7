export { reconcileAllocator } from "./allocator/allocator.js";
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
export { reconcileConstraints } from "./constraint-enforcer.js";
export { OrchErrorCode } from "./errors.js";
export { reconcileGlobal } from "./global.js";
export { jobIterationOf, reconcileGlobalJob, reconcileReplicatedJob } from "./jobs.js";
export { reconcileNodeState } from "./node-state.js";
export { type Change, describePlan, emptyPlan, isEmptyPlan, type Plan, wakeAtMs } from "./plan.js";
export { historyLimitOf, mayStillReport, reconcileReaper } from "./reaper.js";
export { reconcileCluster } from "./reconcile-cluster.js";
export { reconcileService } from "./reconcile-service.js";
export { reconcileReplicated, replicasOf, type ServiceReconcileInput } from "./replicated.js";
export { decideRestart, type RestartDecision, restartPolicyOf } from "./restart.js";
export { planScheduling } from "./scheduling-step.js";
export { type ClusterView, type ReconcileContext, viewOf, WorkingView } from "./view.js";
