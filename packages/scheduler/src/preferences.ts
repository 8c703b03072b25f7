import { ShoalError } from "@shoal/base";
import { isSpreadKey } from "@shoal/proto";
import { attributeValue, type NodeAttribute, parseAttribute } from "./attributes.js";
import { SchedulerErrorCode } from "./errors.js";
import type { SchedulerNode } from "./types.js";

/**
 * Resolves a spread descriptor such as `node.labels.zone`. Which keys may be spread over is
 * @shoal/proto's `isSpreadKey` (the rule spec validation applies): an id or an address would put
 * every node in a group of its own, which plain spread already does.
 */
export function parseSpreadDescriptor(descriptor: string): NodeAttribute {
  const attribute = isSpreadKey(descriptor) ? parseAttribute(descriptor) : undefined;
  if (attribute === undefined) {
    throw new ShoalError(
      SchedulerErrorCode.InvalidPreference,
      `placement preference "spread=${descriptor}" names an attribute that cannot be spread over`,
      {
        hint: "spread over node.labels.<key>, engine.labels.<key>, node.role, node.hostname or node.platform.*",
        details: { descriptor },
      },
    );
  }
  return attribute;
}

/** Value ids per node for one descriptor: equal label values share an id; a missing label is -1. */
export function spreadValueIds(nodes: readonly SchedulerNode[], attribute: NodeAttribute): Int32Array {
  const ids = new Int32Array(nodes.length);
  const interned = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) {
    const value = attributeValue(nodes[i], attribute);
    if (value === undefined) {
      // A node without the label is its own group, distinct from every value including "".
      ids[i] = -1;
      continue;
    }
    let id = interned.get(value);
    if (id === undefined) {
      id = interned.size;
      interned.set(value, id);
    }
    ids[i] = id;
  }
  return ids;
}
