import { formatBytes, formatDurationMs } from "@shoal/base";
import { ClusterDefaults } from "../defaults.js";
import type { ClusterSpec, ConfigSpec, NetworkSpec, NodeSpec, SecretSpec } from "../gen/shoal/v1/specs.js";
import { SchedulingStrategy } from "../gen/shoal/v1/specs.js";
import { NodeAvailability, NodeMembership, NodeRole } from "../gen/shoal/v1/types.js";
import { ipVersion, isCidr } from "./ip.js";
import { IssueCollector, throwIfIssues, type ValidationIssue } from "./issues.js";
import { checkLabels, checkObjectName, checkServiceName } from "./names.js";

/** Largest secret payload (Swarm's limit): secrets are held in memory on every manager. */
export const MAX_SECRET_BYTES = 500 * 1024;
/** Largest config payload (Swarm's limit). */
export const MAX_CONFIG_BYTES = 1000 * 1024;
/** Shortest node certificate lifetime a cluster may ask for (Swarm's limit). */
export const MIN_NODE_CERT_EXPIRY_MS = 60 * 60 * 1000;

export function validateNodeSpec(spec: NodeSpec): ValidationIssue[] {
  const issues = new IssueCollector();
  checkLabels(issues, "labels", spec.labels);
  issues.oneOf("desired_role", spec.desiredRole, NodeRole, false);
  issues.oneOf("membership", spec.membership, NodeMembership, false);
  issues.oneOf("availability", spec.availability, NodeAvailability, false);
  return issues.issues;
}

export function assertValidNodeSpec(spec: NodeSpec): void {
  throwIfIssues(spec.name === "" ? "node spec" : `node spec "${spec.name}"`, validateNodeSpec(spec));
}

function checkPayload(issues: IssueCollector, data: Uint8Array, max: number): void {
  if (data.length === 0) issues.add("data", "must not be empty");
  else if (data.length > max) {
    issues.add("data", `${formatBytes(data.length)} is above the ${formatBytes(max)} maximum`);
  }
}

export function validateSecretSpec(spec: SecretSpec): ValidationIssue[] {
  const issues = new IssueCollector();
  checkObjectName(issues, "name", spec.name);
  checkLabels(issues, "labels", spec.labels);
  checkPayload(issues, spec.data, MAX_SECRET_BYTES);
  return issues.issues;
}

export function assertValidSecretSpec(spec: SecretSpec): void {
  throwIfIssues(spec.name === "" ? "secret spec" : `secret spec "${spec.name}"`, validateSecretSpec(spec));
}

export function validateConfigSpec(spec: ConfigSpec): ValidationIssue[] {
  const issues = new IssueCollector();
  checkObjectName(issues, "name", spec.name);
  checkLabels(issues, "labels", spec.labels);
  checkPayload(issues, spec.data, MAX_CONFIG_BYTES);
  return issues.issues;
}

export function assertValidConfigSpec(spec: ConfigSpec): void {
  throwIfIssues(spec.name === "" ? "config spec" : `config spec "${spec.name}"`, validateConfigSpec(spec));
}

export function validateNetworkSpec(spec: NetworkSpec): ValidationIssue[] {
  const issues = new IssueCollector();
  checkServiceName(issues, "name", spec.name);
  checkLabels(issues, "labels", spec.labels);
  spec.ipam?.configs.forEach((config, i) => {
    const at = `ipam.configs[${i}]`;
    if (config.subnet !== "" && !isCidr(config.subnet)) {
      issues.add(`${at}.subnet`, `"${config.subnet}" is not a valid CIDR like 10.0.1.0/24`);
    }
    if (config.ipRange !== "" && !isCidr(config.ipRange)) {
      issues.add(`${at}.ip_range`, `"${config.ipRange}" is not a valid CIDR like 10.0.1.0/25`);
    }
    if (config.gateway !== "" && ipVersion(config.gateway) === 0) {
      issues.add(`${at}.gateway`, `"${config.gateway}" is not a valid IP address`);
    }
  });
  return issues.issues;
}

export function assertValidNetworkSpec(spec: NetworkSpec): void {
  throwIfIssues(spec.name === "" ? "network spec" : `network spec "${spec.name}"`, validateNetworkSpec(spec));
}

export function validateClusterSpec(spec: ClusterSpec): ValidationIssue[] {
  const issues = new IssueCollector();
  checkLabels(issues, "labels", spec.labels);
  issues.count("orchestration.task_history_retention_limit", spec.orchestration?.taskHistoryRetentionLimit);
  const raft = spec.raft;
  if (raft !== undefined) {
    const heartbeat = raft.heartbeatTick;
    const election = raft.electionTick;
    if (heartbeat !== undefined && heartbeat < 1)
      issues.add("raft.heartbeat_tick", `${heartbeat} is below the 1 minimum`);
    // Raft needs several heartbeats per election timeout, or followers start elections while the
    // leader is healthy.
    const effectiveHeartbeat = heartbeat ?? ClusterDefaults.heartbeatTick;
    if (election !== undefined && election <= effectiveHeartbeat) {
      issues.add(
        "raft.election_tick",
        `${election} must be above the heartbeat tick of ${effectiveHeartbeat}`,
      );
    }
  }
  const heartbeatPeriod = spec.dispatcher?.heartbeatPeriodMs;
  if (heartbeatPeriod !== undefined && heartbeatPeriod <= 0) {
    issues.add("dispatcher.heartbeat_period_ms", `${formatDurationMs(heartbeatPeriod)} must be positive`);
  }
  const expiry = spec.caConfig?.nodeCertExpiryMs;
  if (expiry !== undefined && expiry < MIN_NODE_CERT_EXPIRY_MS) {
    issues.add(
      "ca_config.node_cert_expiry_ms",
      `${formatDurationMs(expiry)} is below the ${formatDurationMs(MIN_NODE_CERT_EXPIRY_MS)} minimum`,
    );
  }
  if (spec.scheduler !== undefined)
    issues.oneOf("scheduler.strategy", spec.scheduler.strategy, SchedulingStrategy);
  const allocator = spec.allocator;
  if (allocator !== undefined) {
    allocator.defaultAddressPool.forEach((pool, i) => {
      if (!isCidr(pool))
        issues.add(`allocator.default_address_pool[${i}]`, `"${pool}" is not a valid CIDR like 10.0.0.0/8`);
    });
    if (allocator.subnetSize !== 0 && (allocator.subnetSize < 8 || allocator.subnetSize > 30)) {
      issues.add("allocator.subnet_size", `${allocator.subnetSize} must be between 8 and 30`);
    }
    if (allocator.nodeSubnetPool !== "" && !isCidr(allocator.nodeSubnetPool)) {
      issues.add(
        "allocator.node_subnet_pool",
        `"${allocator.nodeSubnetPool}" is not a valid CIDR like 10.42.0.0/16`,
      );
    }
  }
  return issues.issues;
}

export function assertValidClusterSpec(spec: ClusterSpec): void {
  throwIfIssues("cluster spec", validateClusterSpec(spec));
}
