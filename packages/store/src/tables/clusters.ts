import type { TableSpec } from "../table.js";
import { labelKeys, labelValueKeys } from "./labels.js";

export const clustersTable = {
  kind: "cluster",
  uniqueName: (o) => o.spec?.name ?? "",
  indexes: {
    label: (o) => labelKeys(o.spec?.labels),
    labelValue: (o) => labelValueKeys(o.spec?.labels),
  },
} satisfies TableSpec<"cluster", string>;
export type ClusterIndex = keyof typeof clustersTable.indexes;
