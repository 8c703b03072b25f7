import type { ContainerSpec, Mount, Task } from "@shoal/proto";
import { expandTemplate, type TemplateValue } from "./go-template.js";

/** What the templates may name about the node (Docker's `.Node`). */
export interface TemplateNode {
  id: string;
  hostname: string;
  platform: { os: string; architecture: string };
}

/** The service name: the task name is "<service name>.<slot or node id>.<task id>". */
export function serviceNameOf(task: Pick<Task, "name">): string {
  const dot = task.name.indexOf(".");
  return dot < 0 ? task.name : task.name.slice(0, dot);
}

/** Docker's template context; `.Task.Slot` is the node id for global services, as in swarmkit. */
export function templateContext(task: Task, node: TemplateNode): TemplateValue {
  return {
    Service: { ID: task.serviceId, Name: serviceNameOf(task), Labels: { ...task.serviceLabels } },
    Node: {
      ID: node.id,
      Hostname: node.hostname,
      Platform: { OS: node.platform.os, Architecture: node.platform.architecture },
    },
    Task: { ID: task.id, Name: task.name, Slot: task.slot !== 0 ? String(task.slot) : task.nodeId },
  };
}

/**
 * The container spec with hostname, env entries and mount sources and targets expanded (what
 * Docker expands). Throws AGENT_TEMPLATE_* naming the field and where it is; the caller rejects
 * the task with that message.
 */
export function expandContainerSpec(spec: ContainerSpec, context: TemplateValue): ContainerSpec {
  return {
    ...spec,
    hostname: expandTemplate(spec.hostname, context, "hostname"),
    env: spec.env.map((e, i) => expandTemplate(e, context, `env[${i}]`)),
    mounts: spec.mounts.map(
      (m, i): Mount => ({
        ...m,
        source: expandTemplate(m.source, context, `mounts[${i}].source`),
        target: expandTemplate(m.target, context, `mounts[${i}].target`),
      }),
    ),
  };
}
