import type {
  EndpointSpec,
  NetworkAttachmentConfig,
  Placement,
  RestartPolicy,
  ServiceSpec,
  TaskSpec,
  UpdateConfig,
} from "../gen/shoal/v1/specs.js";
import {
  EndpointMode,
  PortProtocol,
  PublishMode,
  RestartCondition,
  UpdateFailureAction,
  UpdateOrder,
} from "../gen/shoal/v1/specs.js";
import { describeSpreadKeys, isSpreadKey, parseConstraint } from "./constraint.js";
import { checkContainerSpec } from "./container-spec.js";
import { enumValueName, IssueCollector, throwIfIssues, type ValidationIssue } from "./issues.js";
import { checkLabels, checkServiceName } from "./names.js";
import { checkResourceRequirements } from "./resources.js";

export const MAX_PORT = 65_535;

/**
 * Every problem in a service spec, in field order; [] when the spec is valid. Unset fields are
 * fine (defaults apply), so validate before or after `withServiceDefaults` with the same result.
 */
export function validateServiceSpec(spec: ServiceSpec): ValidationIssue[] {
  const issues = new IssueCollector();
  checkServiceName(issues, "name", spec.name);
  checkLabels(issues, "labels", spec.labels);
  if (spec.taskTemplate === undefined) issues.add("task_template", "must be set");
  else checkTaskSpec(issues, "task_template", spec.taskTemplate, spec.mode?.$case ?? "replicated");
  const mode = spec.mode;
  if (mode?.$case === "replicated") issues.count("mode.replicated.replicas", mode.value.replicas);
  if (mode?.$case === "replicatedJob") {
    issues.count("mode.replicated_job.max_concurrent", mode.value.maxConcurrent);
    issues.count("mode.replicated_job.total_completions", mode.value.totalCompletions);
  }
  if (spec.updateConfig !== undefined) checkUpdateConfig(issues, "update_config", spec.updateConfig);
  if (spec.rollbackConfig !== undefined) checkUpdateConfig(issues, "rollback_config", spec.rollbackConfig);
  if (spec.endpointSpec !== undefined) checkEndpointSpec(issues, "endpoint_spec", spec.endpointSpec);
  return issues.issues;
}

/** Throws one ShoalError PROTO_INVALID_SPEC that lists every issue (details.issues holds them). */
export function assertValidServiceSpec(spec: ServiceSpec): void {
  throwIfIssues(spec.name === "" ? "service spec" : `service spec "${spec.name}"`, validateServiceSpec(spec));
}

type ModeCase = NonNullable<ServiceSpec["mode"]>["$case"];

function checkTaskSpec(issues: IssueCollector, path: string, task: TaskSpec, mode: ModeCase): void {
  if (task.container === undefined) issues.add(`${path}.container`, "must be set");
  else checkContainerSpec(issues, `${path}.container`, task.container);
  if (task.resources !== undefined) checkResourceRequirements(issues, `${path}.resources`, task.resources);
  if (task.restartPolicy !== undefined)
    checkRestartPolicy(issues, `${path}.restart_policy`, task.restartPolicy);
  if (task.placement !== undefined) checkPlacement(issues, `${path}.placement`, task.placement, mode);
  if (task.logDriver !== undefined) issues.notEmpty(`${path}.log_driver.name`, task.logDriver.name);
  checkNetworks(issues, `${path}.networks`, task.networks);
}

function checkRestartPolicy(issues: IssueCollector, path: string, policy: RestartPolicy): void {
  issues.oneOf(`${path}.condition`, policy.condition, RestartCondition);
  issues.durationMs(`${path}.delay_ms`, policy.delayMs);
  issues.count(`${path}.max_attempts`, policy.maxAttempts);
  issues.durationMs(`${path}.window_ms`, policy.windowMs);
}

function checkPlacement(issues: IssueCollector, path: string, placement: Placement, mode: ModeCase): void {
  placement.constraints.forEach((text, i) => {
    const parsed = parseConstraint(text);
    if (!parsed.ok) issues.add(`${path}.constraints[${i}]`, parsed.reason);
  });
  placement.preferences.forEach((preference, i) => {
    const at = `${path}.preferences[${i}]`;
    if (preference.preference === undefined) {
      issues.add(at, "must name a preference (spread)");
      return;
    }
    const descriptor = preference.preference.value.spreadDescriptor;
    if (issues.notEmpty(`${at}.spread.spread_descriptor`, descriptor) && !isSpreadKey(descriptor)) {
      issues.add(
        `${at}.spread.spread_descriptor`,
        `"${descriptor}" is not a key to spread over; use ${describeSpreadKeys()}`,
      );
    }
  });
  issues.count(`${path}.max_replicas_per_node`, placement.maxReplicasPerNode);
  if (placement.maxReplicasPerNode > 0 && mode !== "replicated" && mode !== "replicatedJob") {
    issues.add(
      `${path}.max_replicas_per_node`,
      `${placement.maxReplicasPerNode} is only allowed for replicated services`,
    );
  }
  placement.platforms.forEach((platform, i) => {
    if (platform.os === "" && platform.architecture === "") {
      issues.add(`${path}.platforms[${i}]`, "must name an os or an architecture");
    }
  });
}

function checkNetworks(issues: IssueCollector, path: string, networks: NetworkAttachmentConfig[]): void {
  const targets = new Set<string>();
  networks.forEach((network, i) => {
    if (!issues.notEmpty(`${path}[${i}].target`, network.target)) return;
    if (targets.has(network.target))
      issues.add(`${path}[${i}]`, `network "${network.target}" is attached twice`);
    targets.add(network.target);
  });
}

function checkUpdateConfig(issues: IssueCollector, path: string, config: UpdateConfig): void {
  issues.count(`${path}.parallelism`, config.parallelism);
  issues.durationMs(`${path}.delay_ms`, config.delayMs);
  issues.oneOf(`${path}.failure_action`, config.failureAction, UpdateFailureAction);
  issues.durationMs(`${path}.monitor_ms`, config.monitorMs);
  const ratio = config.maxFailureRatio;
  if (!(ratio >= 0 && ratio <= 1))
    issues.add(`${path}.max_failure_ratio`, `${ratio} must be between 0 and 1`);
  issues.oneOf(`${path}.order`, config.order, UpdateOrder);
}

function checkEndpointSpec(issues: IssueCollector, path: string, endpoint: EndpointSpec): void {
  issues.oneOf(`${path}.mode`, endpoint.mode, EndpointMode);
  const published = new Set<string>();
  endpoint.ports.forEach((port, i) => {
    const at = `${path}.ports[${i}]`;
    issues.oneOf(`${at}.protocol`, port.protocol, PortProtocol);
    issues.oneOf(`${at}.publish_mode`, port.publishMode, PublishMode);
    if (!Number.isInteger(port.targetPort) || port.targetPort < 1 || port.targetPort > MAX_PORT) {
      issues.add(`${at}.target_port`, `${port.targetPort} must be between 1 and ${MAX_PORT}`);
    }
    if (!Number.isInteger(port.publishedPort) || port.publishedPort < 0 || port.publishedPort > MAX_PORT) {
      issues.add(`${at}.published_port`, `${port.publishedPort} must be between 0 and ${MAX_PORT}`);
    }
    const protocol = enumValueName(PortProtocol, port.protocol === 0 ? PortProtocol.TCP : port.protocol);
    const isIngress = port.publishMode !== PublishMode.HOST;
    if (isIngress && endpoint.mode === EndpointMode.DNSRR && port.publishedPort !== 0) {
      issues.add(
        at,
        `port ${port.publishedPort}/${protocol} published in ingress mode cannot be used with endpoint mode dnsrr; use publish_mode host`,
      );
    }
    // 0 asks for a dynamic port, so several may be 0. Host and ingress ports share the node's
    // port space, so a clash between the two modes is a clash too.
    if (port.publishedPort === 0) return;
    const key = `${port.publishedPort}/${protocol}`;
    if (published.has(key)) issues.add(at, `published port ${key} is used twice`);
    published.add(key);
  });
}
