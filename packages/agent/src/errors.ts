/**
 * Error codes of the agent. Each says when it happens; messages follow STYLE.md (lowercase,
 * subject first, values quoted).
 */
export const AgentErrorCode = {
  /** A template in hostname, env or a mount names a field the template context does not have. */
  TemplateUnknownField: "AGENT_TEMPLATE_UNKNOWN_FIELD",
  /** A template in hostname, env or a mount is malformed (unclosed action, bad function call). */
  TemplateSyntax: "AGENT_TEMPLATE_SYNTAX",
  /** The task carries no container spec or no image: there is nothing to run. */
  InvalidTask: "AGENT_INVALID_TASK",
  /** A secret or config the task references is not on the node after a complete assignment. */
  FilesMissing: "AGENT_FILES_MISSING",
  /** A task needs the node network but the manager has not given the node a container subnet yet. */
  NoSubnet: "AGENT_NO_SUBNET",
  /** The container of a task the agent started is gone (removed behind the agent's back). */
  ContainerVanished: "AGENT_CONTAINER_VANISHED",
  /** A line of the agent's records file (other than a torn last line) cannot be read. */
  RecordsCorrupt: "AGENT_RECORDS_CORRUPT",
  /** A record was put or deleted after the agent's records were closed (the agent is stopping). */
  RecordsClosed: "AGENT_RECORDS_CLOSED",
  /** The session was started without any manager address to dial. */
  NoManagers: "AGENT_NO_MANAGERS",
  /** The dispatcher broke the session protocol (no session id, assignments out of sequence). */
  SessionProtocol: "AGENT_SESSION_PROTOCOL",
} as const;
export type AgentErrorCode = (typeof AgentErrorCode)[keyof typeof AgentErrorCode];
