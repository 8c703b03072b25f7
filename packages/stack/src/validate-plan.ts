import {
  type ValidationIssue,
  validateConfigSpec,
  validateNetworkSpec,
  validateSecretSpec,
  validateServiceSpec,
} from "@shoal/proto";
import type { StackPlan } from "./convert.js";
import { StackErrorCode, type StackIssue } from "./errors.js";
import { formatPath, type Path, type SourceMap } from "./source-map.js";

// Proto field paths (as the manager reports them) → the Compose keys a person wrote. With
// `exact`, the rest of the proto path is dropped: list indices there do not match the file's
// (short port ranges expand, volumes and tmpfs share the mounts list).
const PREFIXES: Array<{ proto: string; compose: string[]; exact?: boolean }> = [
  { proto: "task_template.resources.", compose: ["deploy", "resources"] },
  { proto: "task_template.restart_policy.", compose: ["deploy", "restart_policy"] },
  { proto: "task_template.placement.", compose: ["deploy", "placement"] },
  { proto: "task_template.container.mounts", compose: ["volumes"], exact: true },
  { proto: "task_template.container.env", compose: ["environment"], exact: true },
  { proto: "task_template.container.hosts", compose: ["extra_hosts"], exact: true },
  { proto: "task_template.container.dir", compose: ["working_dir"], exact: true },
  { proto: "task_template.container.command", compose: ["entrypoint"], exact: true },
  { proto: "task_template.container.args", compose: ["command"], exact: true },
  { proto: "task_template.container.stop_grace_period_ms", compose: ["stop_grace_period"], exact: true },
  { proto: "task_template.container.healthcheck", compose: ["healthcheck"], exact: true },
  { proto: "task_template.container.", compose: [] },
  { proto: "update_config.", compose: ["deploy", "update_config"] },
  { proto: "rollback_config.", compose: ["deploy", "rollback_config"] },
  { proto: "mode.replicated.", compose: ["deploy"] },
  { proto: "endpoint_spec.ports", compose: ["ports"], exact: true },
  { proto: "endpoint_spec.mode", compose: ["deploy", "endpoint_mode"], exact: true },
  { proto: "labels", compose: ["deploy", "labels"], exact: true },
];
const LEAVES: Record<string, string> = {
  nano_cpus: "cpus",
  memory_bytes: "memory",
  delay_ms: "delay",
  window_ms: "window",
  monitor_ms: "monitor",
  cap_add: "cap_add",
};

function composePath(service: string, protoPath: string): Path {
  for (const { proto, compose, exact } of PREFIXES) {
    if (!protoPath.startsWith(proto)) continue;
    const rest: Array<string | number> = [];
    if (exact !== true) {
      for (const seg of protoPath.slice(proto.length).split(".")) {
        const m = /^([a-z_]+)\[(\d+)\]$/.exec(seg);
        if (m !== null) rest.push(LEAVES[m[1] as string] ?? (m[1] as string), Number(m[2]));
        else if (seg !== "") rest.push(LEAVES[seg] ?? seg);
      }
    }
    return ["services", service, ...compose, ...rest];
  }
  return ["services", service];
}

/**
 * Runs the manager's own spec validation (from @shoal/proto) on a plan, so `stack config` reports
 * what a deploy would be refused for — with positions where the Compose key is known. Secret and
 * config content is not read yet at this point, so only their other rules are checked.
 */
export function validatePlan(plan: StackPlan, positions?: SourceMap): StackIssue[] {
  const out: StackIssue[] = [];
  const add = (path: Path, issue: ValidationIssue, protoPath: boolean) => {
    const pos = positions?.nearest(path);
    // With a Compose path the proto field name is noise; without one it says which field.
    const text = protoPath ? issue.message : issue.message.slice(issue.path.length + 2);
    out.push({
      code: StackErrorCode.SpecInvalid,
      path: formatPath(path),
      message: text,
      ...(pos ? { pos } : {}),
    });
  };
  const prefix = `${plan.namespace}_`;
  for (const s of plan.services) {
    const key = s.name.startsWith(prefix) ? s.name.slice(prefix.length) : s.name;
    for (const issue of validateServiceSpec(s)) {
      const path = composePath(key, issue.path);
      add(path, issue, path.length === 2);
    }
  }
  for (const n of plan.networks) {
    if (n.external) continue;
    for (const issue of validateNetworkSpec(n.spec)) add(["networks", n.key], issue, true);
  }
  const placeholder = new Uint8Array([0]);
  for (const [section, objects, validate] of [
    ["secrets", plan.secrets, validateSecretSpec],
    ["configs", plan.configs, validateConfigSpec],
  ] as const) {
    for (const o of objects) {
      if (o.external) continue;
      const spec = o.spec.data.length > 0 ? o.spec : { ...o.spec, data: placeholder };
      for (const issue of validate(spec)) add([section, o.key], issue, true);
    }
  }
  return out;
}
