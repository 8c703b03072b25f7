import type { TableSpec } from "../table.js";
import { labelKeys, labelValueKeys } from "./labels.js";

/**
 * Nodes: names need not be unique, as in Swarm. A node is named by its spec's name or, as
 * docker's `node inspect HOSTNAME`, by its hostname (`names`, which `resolve` reads).
 */
export const nodesTable = {
  kind: "node",
  indexes: {
    label: (n) => labelKeys(n.spec?.labels),
    labelValue: (n) => labelValueKeys(n.spec?.labels),
    name: (n) => (n.spec?.name ? [n.spec.name] : []),
    names: (n) => {
      const name = n.spec?.name ?? "";
      const hostname = n.description?.hostname ?? "";
      if (name === "" || name === hostname) return hostname === "" ? [] : [hostname];
      return hostname === "" ? [name] : [name, hostname];
    },
    role: (n) => [String(n.role)],
  },
  nameIndex: "names" as const,
} satisfies TableSpec<"node", string>;
export type NodeIndex = keyof typeof nodesTable.indexes;
