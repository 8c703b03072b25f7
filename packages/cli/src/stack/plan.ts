import { ShoalError } from "@shoal/base";
import type {
  Config,
  ConfigSpec,
  Network,
  NetworkSpec,
  Secret,
  SecretSpec,
  Service,
  ServiceSpec,
} from "@shoal/proto";
import { ServiceSpec as ServiceSpecCodec } from "@shoal/proto";
import { STACK_NAMESPACE_LABEL, type StackPlan } from "@shoal/stack";
import { CliErrorCode, ExitCode } from "../errors.js";

/** What the cluster holds (all of it; the plan picks the stack's own by label). */
export interface ClusterObjects {
  services: readonly Service[];
  networks: readonly Network[];
  secrets: readonly Secret[];
  configs: readonly Config[];
}

export type StackStep =
  | { kind: "create-network"; name: string; spec: NetworkSpec }
  | { kind: "create-secret"; name: string; spec: SecretSpec }
  | { kind: "create-config"; name: string; spec: ConfigSpec }
  | { kind: "create-service"; name: string; spec: ServiceSpec }
  | { kind: "update-service"; name: string; id: string; version: number; spec: ServiceSpec }
  | { kind: "remove-service"; name: string; id: string }
  | { kind: "remove-network"; name: string; id: string }
  | { kind: "remove-secret"; name: string; id: string }
  | { kind: "remove-config"; name: string; id: string };

const inStack = (namespace: string) => (o: { spec?: { labels: Record<string, string> } | undefined }) =>
  o.spec?.labels[STACK_NAMESPACE_LABEL] === namespace;

/**
 * What `stack deploy` does, as a pure function of the stack's specs and the cluster's objects
 * (docker's order): the stack's networks, secrets and configs that do not exist yet, then its
 * services — created when new, updated only when their spec changed, left alone otherwise — and
 * with `prune` the removal of the stack's services that are no longer in the file. External
 * networks, secrets and configs must exist; a missing one fails the plan before anything changes.
 */
export function planStackDeploy(
  desired: StackPlan,
  cluster: ClusterObjects,
  options: { prune: boolean },
): StackStep[] {
  const ns = desired.namespace;
  const missing: string[] = [];
  const steps: StackStep[] = [];

  const networkNames = new Set(cluster.networks.map((n) => n.spec?.name));
  for (const n of desired.networks) {
    if (networkNames.has(n.spec.name)) continue;
    if (n.external) missing.push(`network "${n.spec.name}" is external but does not exist`);
    else steps.push({ kind: "create-network", name: n.spec.name, spec: n.spec });
  }
  const secretNames = new Set(cluster.secrets.map((s) => s.spec?.name));
  for (const s of desired.secrets) {
    if (secretNames.has(s.spec.name)) continue;
    if (s.external) missing.push(`secret "${s.spec.name}" is external but does not exist`);
    else steps.push({ kind: "create-secret", name: s.spec.name, spec: s.spec });
  }
  const configNames = new Set(cluster.configs.map((c) => c.spec?.name));
  for (const c of desired.configs) {
    if (configNames.has(c.spec.name)) continue;
    if (c.external) missing.push(`config "${c.spec.name}" is external but does not exist`);
    else steps.push({ kind: "create-config", name: c.spec.name, spec: c.spec });
  }
  if (missing.length > 0) {
    throw new ShoalError(CliErrorCode.NotFound, `stack "${ns}" cannot be deployed: ${missing.join("; ")}`, {
      hint: "create the external objects first (`shoal network|secret|config create …`)",
      details: { exitCode: ExitCode.NotFound },
    });
  }

  const byName = new Map(cluster.services.map((s) => [s.spec?.name, s]));
  const owned = cluster.services.filter(inStack(ns));
  for (const spec of [...desired.services].sort((a, b) => a.name.localeCompare(b.name))) {
    const existing = byName.get(spec.name);
    if (existing === undefined) {
      steps.push({ kind: "create-service", name: spec.name, spec });
      continue;
    }
    if (!inStack(ns)(existing)) {
      throw new ShoalError(
        CliErrorCode.Conflict,
        `service "${spec.name}" exists but does not belong to stack "${ns}"`,
        {
          hint: "remove it or rename the service in the stack file",
          details: { exitCode: ExitCode.Conflict },
        },
      );
    }
    if (existing.spec !== undefined && sameServiceSpec(existing.spec, spec)) continue;
    steps.push({
      kind: "update-service",
      name: spec.name,
      id: existing.id,
      version: existing.meta?.version ?? 0,
      spec,
    });
  }
  if (options.prune) {
    const wanted = new Set(desired.services.map((s) => s.name));
    for (const s of owned) {
      const name = s.spec?.name ?? s.id;
      if (!wanted.has(name)) steps.push({ kind: "remove-service", name, id: s.id });
    }
  }
  return steps;
}

/** `stack rm`: the stack's services first (they use the rest), then secrets, configs, networks. */
export function planStackRemove(namespace: string, cluster: ClusterObjects): StackStep[] {
  const owned = inStack(namespace);
  const name = (o: { id: string; spec?: { name: string } | undefined }) => o.spec?.name ?? o.id;
  const sorted = <
    T extends { id: string; spec?: { name: string; labels: Record<string, string> } | undefined },
  >(
    list: readonly T[],
  ) => list.filter(owned).sort((a, b) => name(a).localeCompare(name(b)));
  return [
    ...sorted(cluster.services).map((s): StackStep => ({ kind: "remove-service", name: name(s), id: s.id })),
    ...sorted(cluster.secrets).map((s): StackStep => ({ kind: "remove-secret", name: name(s), id: s.id })),
    ...sorted(cluster.configs).map((s): StackStep => ({ kind: "remove-config", name: name(s), id: s.id })),
    ...sorted(cluster.networks).map((s): StackStep => ({ kind: "remove-network", name: name(s), id: s.id })),
  ];
}

/**
 * The spec with each secret and config reference's id filled in from its name: the manager and
 * the dispatcher look them up by id, a stack file names them. Run after the stack's secrets and
 * configs were created; a name that does not resolve is left for the manager to report.
 */
export function withReferenceIds(
  spec: ServiceSpec,
  secrets: readonly Secret[],
  configs: readonly Config[],
): ServiceSpec {
  const c = spec.taskTemplate?.container;
  if (c === undefined) return spec;
  const secretIds = new Map(secrets.map((s) => [s.spec?.name, s.id]));
  const configIds = new Map(configs.map((x) => [x.spec?.name, x.id]));
  const copy = ServiceSpecCodec.fromPartial(spec);
  const container = copy.taskTemplate?.container;
  if (container === undefined) return spec;
  container.secrets = container.secrets.map((s) => ({
    ...s,
    secretId: s.secretId || (secretIds.get(s.secretName) ?? ""),
  }));
  container.configs = container.configs.map((x) => ({
    ...x,
    configId: x.configId || (configIds.get(x.configName) ?? ""),
  }));
  return copy;
}

/** The line docker prints for each step. */
export function describeStep(step: StackStep): string {
  switch (step.kind) {
    case "create-network":
      return `Creating network ${step.name}`;
    case "create-secret":
      return `Creating secret ${step.name}`;
    case "create-config":
      return `Creating config ${step.name}`;
    case "create-service":
      return `Creating service ${step.name}`;
    case "update-service":
      return `Updating service ${step.name} (id: ${step.id})`;
    case "remove-service":
      return `Removing service ${step.name}`;
    case "remove-network":
      return `Removing network ${step.name}`;
    case "remove-secret":
      return `Removing secret ${step.name}`;
    case "remove-config":
      return `Removing config ${step.name}`;
  }
}

/**
 * Specs are compared on their wire JSON, with the ids the manager fills into secret/config
 * references left out: the stack file names them, the stored spec may also carry their ids.
 */
function sameServiceSpec(a: ServiceSpec, b: ServiceSpec): boolean {
  return JSON.stringify(comparable(a)) === JSON.stringify(comparable(b));
}

function comparable(spec: ServiceSpec): unknown {
  const copy = ServiceSpecCodec.fromPartial(spec);
  const c = copy.taskTemplate?.container;
  if (c !== undefined) {
    c.secrets = c.secrets.map((s) => ({ ...s, secretId: "" }));
    c.configs = c.configs.map((s) => ({ ...s, configId: "" }));
  }
  return sortKeys(ServiceSpecCodec.toJSON(copy));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}
