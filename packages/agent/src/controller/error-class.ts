import { AgentErrorCode } from "../errors.js";

/**
 * Whether a failed effect can succeed if tried again. The one place the agent decides it: a
 * permanent failure ends the task (REJECTED before it started, FAILED after), so the orchestrator
 * can place a replacement — possibly elsewhere — instead of this node retrying forever. Everything
 * not listed is transient (registry unreachable, a runc hiccup, I/O) and retried with backoff.
 * When the runtime exports its own `isPermanent(code)`, this list folds into it.
 */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  // Image: the reference or the registry's answer will not change by asking again.
  "IMAGE_INVALID_REFERENCE",
  "IMAGE_NOT_FOUND",
  "IMAGE_NOT_FOUND_IN_REGISTRY",
  "IMAGE_UNAUTHORIZED",
  "IMAGE_NO_MATCHING_PLATFORM",
  "IMAGE_INVALID_MANIFEST",
  "IMAGE_INVALID_LAYER",
  // Container: the spec cannot become a bundle.
  "CONTAINER_INVALID_SPEC",
  "CONTAINER_USER_NOT_FOUND",
  "CONTAINER_NO_COMMAND",
  // Network: a host port another process holds; another node may have it free.
  "NETWORK_INVALID_PORT",
  "NETWORK_PORT_IN_USE",
  // Ours.
  AgentErrorCode.TemplateUnknownField,
  AgentErrorCode.TemplateSyntax,
  AgentErrorCode.InvalidTask,
]);

export function isPermanentCode(code: string | undefined): boolean {
  return code !== undefined && PERMANENT_CODES.has(code);
}
