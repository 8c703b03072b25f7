import { isPermanent as isPermanentRuntimeCode } from "@shoal/runtime";
import { AgentErrorCode } from "../errors.js";

/**
 * Whether a failed effect can succeed if tried again. The one place the agent decides it: a
 * permanent failure ends the task (REJECTED before it started, FAILED after), so the orchestrator
 * can place a replacement — possibly elsewhere — instead of this node retrying forever. The
 * runtime classifies its own codes (`isPermanent`, every code listed there); the agent adds its
 * own. Everything else is transient (registry unreachable, a runc hiccup, I/O): retried with
 * backoff, and given up after the controller's maximum of attempts.
 */
const AGENT_PERMANENT_CODES: ReadonlySet<string> = new Set([
  AgentErrorCode.TemplateUnknownField,
  AgentErrorCode.TemplateSyntax,
  AgentErrorCode.InvalidTask,
]);

export function isPermanentCode(code: string | undefined): boolean {
  return code !== undefined && (AGENT_PERMANENT_CODES.has(code) || isPermanentRuntimeCode(code));
}
