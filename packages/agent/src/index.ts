// @shoal/agent: the node agent (DESIGN.md §5).

export { Agent, type AgentOptions } from "./agent.js";
export { backoffDelayMs, DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS } from "./controller/backoff.js";
export { isPermanentCode } from "./controller/error-class.js";
export {
  type ControllerAction,
  type ControllerInput,
  nextAction,
  type ObservedContainer,
  type ObservedFailure,
} from "./controller/next-action.js";
export {
  DEFAULT_MAX_TRANSIENT_ATTEMPTS,
  TaskController,
  type TaskControllerDeps,
} from "./controller/task-controller.js";
export { AgentErrorCode } from "./errors.js";
export type { Engine, EngineContainer, PublishedPort } from "./executor/engine.js";
export {
  DEFAULT_ENGINE_POLL_MS,
  RuntimeEngine,
  type RuntimeEngineOptions,
} from "./executor/runtime-engine.js";
export { hostPorts, toContainerSpec } from "./executor/to-container-spec.js";
export { describeNode, type NodeDescriptionOptions } from "./node-description.js";
export { AgentRecords, RECORDS_FILE, type TaskRecord } from "./records/agent-records.js";
export {
  DEFAULT_REPORT_BATCH_SIZE,
  StatusReporter,
  type StatusReporterOptions,
  type StatusSender,
} from "./reporter/status-reporter.js";
export {
  DEFAULT_HEARTBEAT_PERIOD_MS,
  DEFAULT_SESSION_OPEN_TIMEOUT_MS,
  DispatcherSession,
  type DispatcherSessionOptions,
  STATUS_CALL_TIMEOUT_MS,
} from "./session/dispatcher-session.js";
export { type ManagerAddress, pickManager } from "./session/manager-list.js";
export { expandTemplate, type TemplateValue } from "./template/go-template.js";
export {
  expandContainerSpec,
  serviceNameOf,
  type TemplateNode,
  templateContext,
} from "./template/task-template.js";
export { type AssignmentSink, Worker, type WorkerOptions } from "./worker.js";
