import type { TableSpec } from "../table.js";
import { labelKeys, labelValueKeys } from "./labels.js";

/** Nodes: names (hostnames) need not be unique, as in Swarm. */
export const nodesTable = {
  kind: "node",
  indexes: {
    label: (n) => labelKeys(n.spec?.labels),
    labelValue: (n) => labelValueKeys(n.spec?.labels),
    name: (n) => (n.spec?.name ? [n.spec.name] : []),
    role: (n) => [String(n.role)],
  },
} satisfies TableSpec<"node", string>;
export type NodeIndex = keyof typeof nodesTable.indexes;
