import { ConfigSpec, NetworkSpec, SecretSpec, ServiceSpec } from "@shoal/proto";
import { stringify } from "yaml";
import type { StackPlan } from "./convert.js";

/**
 * The printable form of a plan, as `shoal stack config` shows it: the specs in their proto JSON
 * form (camelCase field names, enums by name, defaults left out), plus where secret and config
 * content comes from (the content itself is read only at deploy time and never printed).
 */
export function planToJson(plan: StackPlan): Record<string, unknown> {
  return {
    namespace: plan.namespace,
    services: plan.services.map((s) => ServiceSpec.toJSON(s)),
    networks: plan.networks.map((n) => ({ external: n.external, ...(NetworkSpec.toJSON(n.spec) as object) })),
    secrets: plan.secrets.map((s) => ({
      external: s.external,
      ...pickSource(s),
      ...(withoutData(SecretSpec.toJSON(s.spec)) as object),
    })),
    configs: plan.configs.map((c) => ({
      external: c.external,
      ...pickSource(c),
      ...(withoutData(ConfigSpec.toJSON(c.spec)) as object),
    })),
  };
}

function pickSource(o: { file?: string; environment?: string; content?: string }): Record<string, string> {
  const out: Record<string, string> = {};
  if (o.file !== undefined) out.file = o.file;
  if (o.environment !== undefined) out.environment = o.environment;
  if (o.content !== undefined) out.content = o.content;
  return out;
}

function withoutData(json: unknown): unknown {
  const { data: _data, ...rest } = json as Record<string, unknown>;
  return rest;
}

export function renderPlan(plan: StackPlan, format: "json" | "yaml"): string {
  const json = planToJson(plan);
  return format === "json" ? `${JSON.stringify(json, null, 2)}\n` : stringify(json, { lineWidth: 0 });
}
