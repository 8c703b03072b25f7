import type { ClusterSpec, ServiceSpec } from "./gen/shoal/v1/specs.js";
import {
  AllocatorConfig,
  CaConfig,
  ContainerSpec,
  DispatcherConfig,
  EndpointMode,
  EndpointSpec,
  OrchestrationConfig,
  PortProtocol,
  PublishMode,
  RaftConfig,
  RestartCondition,
  RestartPolicy,
  SchedulerConfig,
  SchedulingStrategy,
  TaskSpec,
  UpdateConfig,
  UpdateFailureAction,
  UpdateOrder,
} from "./gen/shoal/v1/specs.js";

/** Swarm's service defaults: what an unset field means. */
export const ServiceDefaults = {
  replicas: 1,
  jobMaxConcurrent: 1,
  update: {
    parallelism: 1,
    delayMs: 0,
    failureAction: UpdateFailureAction.PAUSE,
    monitorMs: 5_000,
    maxFailureRatio: 0,
    order: UpdateOrder.STOP_FIRST,
  },
  restart: {
    condition: RestartCondition.ANY,
    // Jobs run to completion, so a successful exit must not start them again.
    jobCondition: RestartCondition.ON_FAILURE,
    delayMs: 5_000,
    maxAttempts: 0,
    windowMs: 0,
  },
  stopGracePeriodMs: 10_000,
  endpointMode: EndpointMode.VIP,
  portProtocol: PortProtocol.TCP,
  publishMode: PublishMode.INGRESS,
} as const;

/** What the runtime uses for healthcheck fields the spec (and the image) leave unset. */
export const HealthcheckDefaults = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  retries: 3,
  startPeriodMs: 0,
  startIntervalMs: 5_000,
} as const;

/** The cluster's defaults (DESIGN.md §4). */
export const ClusterDefaults = {
  taskHistoryRetentionLimit: 5,
  snapshotInterval: 10_000,
  logEntriesForSlowFollowers: 500,
  heartbeatTick: 1,
  electionTick: 10,
  heartbeatPeriodMs: 1_000,
  nodeCertExpiryMs: 90 * 24 * 60 * 60 * 1000,
  schedulingStrategy: SchedulingStrategy.SPREAD,
  defaultAddressPool: ["10.0.0.0/8"],
  subnetSize: 24,
  nodeSubnetPool: "10.42.0.0/16",
} as const;

function withUpdateDefaults(config: UpdateConfig | undefined): UpdateConfig {
  const out = config === undefined ? UpdateConfig.fromPartial({}) : { ...config };
  const d = ServiceDefaults.update;
  out.parallelism ??= d.parallelism;
  out.monitorMs ??= d.monitorMs;
  if (out.failureAction === UpdateFailureAction.UNSPECIFIED) out.failureAction = d.failureAction;
  if (out.order === UpdateOrder.UNSPECIFIED) out.order = d.order;
  return out;
}

/**
 * A copy of `spec` with Swarm's defaults in every unset field. Fields the user set, including
 * explicit zeros in `optional` fields (replicas 0, parallelism 0), are never changed, and `spec`
 * itself is not modified.
 */
export function withServiceDefaults(spec: ServiceSpec): ServiceSpec {
  const out = structuredClone(spec);
  const mode = out.mode ?? { $case: "replicated", value: {} };
  out.mode = mode;
  const isJob = mode.$case === "replicatedJob" || mode.$case === "globalJob";
  if (mode.$case === "replicated") mode.value.replicas ??= ServiceDefaults.replicas;
  if (mode.$case === "replicatedJob") {
    mode.value.maxConcurrent ??= ServiceDefaults.jobMaxConcurrent;
    mode.value.totalCompletions ??= mode.value.maxConcurrent;
  }

  const task = out.taskTemplate ?? TaskSpec.fromPartial({});
  out.taskTemplate = task;
  const container = task.container ?? ContainerSpec.fromPartial({});
  task.container = container;
  container.stopGracePeriodMs ??= ServiceDefaults.stopGracePeriodMs;
  const restart = task.restartPolicy ?? RestartPolicy.fromPartial({});
  task.restartPolicy = restart;
  if (restart.condition === RestartCondition.UNSPECIFIED) {
    restart.condition = isJob ? ServiceDefaults.restart.jobCondition : ServiceDefaults.restart.condition;
  }
  restart.delayMs ??= ServiceDefaults.restart.delayMs;

  // Jobs are never rolled: a new spec starts a new iteration instead.
  if (!isJob) {
    out.updateConfig = withUpdateDefaults(out.updateConfig);
    out.rollbackConfig = withUpdateDefaults(out.rollbackConfig);
  }

  const endpoint = out.endpointSpec ?? EndpointSpec.fromPartial({});
  out.endpointSpec = endpoint;
  if (endpoint.mode === EndpointMode.UNSPECIFIED) endpoint.mode = ServiceDefaults.endpointMode;
  for (const port of endpoint.ports) {
    if (port.protocol === PortProtocol.UNSPECIFIED) port.protocol = ServiceDefaults.portProtocol;
    if (port.publishMode === PublishMode.UNSPECIFIED) port.publishMode = ServiceDefaults.publishMode;
  }
  return out;
}

/** A copy of `spec` with the cluster defaults in every unset field. */
export function withClusterDefaults(spec: ClusterSpec): ClusterSpec {
  const out = structuredClone(spec);
  const d = ClusterDefaults;
  const orchestration = out.orchestration ?? OrchestrationConfig.fromPartial({});
  out.orchestration = orchestration;
  orchestration.taskHistoryRetentionLimit ??= d.taskHistoryRetentionLimit;
  const raft = out.raft ?? RaftConfig.fromPartial({});
  out.raft = raft;
  raft.snapshotInterval ??= d.snapshotInterval;
  raft.logEntriesForSlowFollowers ??= d.logEntriesForSlowFollowers;
  raft.heartbeatTick ??= d.heartbeatTick;
  raft.electionTick ??= d.electionTick;
  const dispatcher = out.dispatcher ?? DispatcherConfig.fromPartial({});
  out.dispatcher = dispatcher;
  dispatcher.heartbeatPeriodMs ??= d.heartbeatPeriodMs;
  const ca = out.caConfig ?? CaConfig.fromPartial({});
  out.caConfig = ca;
  ca.nodeCertExpiryMs ??= d.nodeCertExpiryMs;
  const scheduler = out.scheduler ?? SchedulerConfig.fromPartial({});
  out.scheduler = scheduler;
  if (scheduler.strategy === SchedulingStrategy.UNSPECIFIED) scheduler.strategy = d.schedulingStrategy;
  const allocator = out.allocator ?? AllocatorConfig.fromPartial({});
  out.allocator = allocator;
  if (allocator.defaultAddressPool.length === 0) allocator.defaultAddressPool = [...d.defaultAddressPool];
  if (allocator.subnetSize === 0) allocator.subnetSize = d.subnetSize;
  if (allocator.nodeSubnetPool === "") allocator.nodeSubnetPool = d.nodeSubnetPool;
  return out;
}
