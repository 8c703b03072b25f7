import { normalizeArch } from "./platform.js";
import type { SchedulerNode } from "./types.js";

/**
 * A node attribute that constraints and placement preferences can name. Keys are case-sensitive
 * (`node.labels.Zone` and `node.labels.zone` are different labels), as in Swarm's label maps.
 */
export type NodeAttribute =
  | { kind: "id" }
  | { kind: "hostname" }
  | { kind: "role" }
  | { kind: "os" }
  | { kind: "arch" }
  | { kind: "ip" }
  | { kind: "node-label"; key: string }
  | { kind: "engine-label"; key: string };

const NODE_LABEL_PREFIX = "node.labels.";
const ENGINE_LABEL_PREFIX = "engine.labels.";

/** Maps a constraint/preference key onto an attribute, or undefined when the key is unknown. */
export function parseAttribute(key: string): NodeAttribute | undefined {
  switch (key) {
    case "node.id":
      return { kind: "id" };
    case "node.hostname":
      return { kind: "hostname" };
    case "node.role":
      return { kind: "role" };
    case "node.platform.os":
      return { kind: "os" };
    case "node.platform.arch":
      return { kind: "arch" };
    case "node.ip":
      return { kind: "ip" };
  }
  if (key.startsWith(NODE_LABEL_PREFIX) && key.length > NODE_LABEL_PREFIX.length) {
    return { kind: "node-label", key: key.slice(NODE_LABEL_PREFIX.length) };
  }
  if (key.startsWith(ENGINE_LABEL_PREFIX) && key.length > ENGINE_LABEL_PREFIX.length) {
    return { kind: "engine-label", key: key.slice(ENGINE_LABEL_PREFIX.length) };
  }
  return undefined;
}

/**
 * The attribute's value on a node, or undefined for a missing label (callers decide whether a
 * missing label is "" — constraints — or a group of its own — preferences).
 */
export function attributeValue(node: SchedulerNode, attr: NodeAttribute): string | undefined {
  switch (attr.kind) {
    case "id":
      return node.id;
    case "hostname":
      return node.hostname;
    case "role":
      return node.role;
    case "os":
      return node.platform.os;
    case "arch":
      return normalizeArch(node.platform.architecture);
    case "ip":
      return node.addr;
    case "node-label":
      return Object.hasOwn(node.labels, attr.key) ? node.labels[attr.key] : undefined;
    case "engine-label":
      return Object.hasOwn(node.engineLabels, attr.key) ? node.engineLabels[attr.key] : undefined;
  }
}
