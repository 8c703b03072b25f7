// @shoal/agent: the node agent (DESIGN.md §5).
export { backoffDelayMs, DEFAULT_BACKOFF_MAX_MS, DEFAULT_BACKOFF_MIN_MS } from "./controller/backoff.js";
export { isPermanentCode } from "./controller/error-class.js";
export {
  type ControllerAction,
  type ControllerInput,
  nextAction,
  type ObservedContainer,
  type ObservedFailure,
} from "./controller/next-action.js";
export { AgentErrorCode } from "./errors.js";
export { expandTemplate, type TemplateValue } from "./template/go-template.js";
export {
  expandContainerSpec,
  serviceNameOf,
  type TemplateNode,
  templateContext,
} from "./template/task-template.js";
