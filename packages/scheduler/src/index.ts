export { type NodeAttribute, parseAttribute } from "./attributes.js";
export { FAILURE_WINDOW_MS, MAX_RECENT_FAILURES } from "./cluster-state.js";
export {
  type CompiledConstraint,
  compileConstraint,
  compileConstraints,
  nodeMatchesConstraints,
} from "./constraints.js";
export { SchedulerErrorCode } from "./errors.js";
export { explain } from "./explain.js";
export {
  isSchedulable,
  nodeFromWire,
  pendingGroupsFromWire,
  placedTaskFromWire,
  rebalanceServiceFromWire,
  scheduleInputFromWire,
  type TaskFacts,
  type TaskFactsMemo,
  taskFailureFromWire,
} from "./from-wire.js";
export { normalizeArch, platformMatches } from "./platform.js";
export { parseSpreadDescriptor } from "./preferences.js";
export {
  type Move,
  planRebalance,
  type RebalanceInput,
  type RebalanceOptions,
  type RebalanceService,
} from "./rebalance.js";
export { DEFAULT_PLACEMENT_STRATEGY, type ScheduleOptions, schedule } from "./schedule.js";
export * from "./types.js";
