import type { TableSpec } from "../table.js";
import { labelKeys, labelValueKeys } from "./labels.js";

export const networksTable = {
  kind: "network",
  uniqueName: (o) => o.spec?.name ?? "",
  indexes: {
    label: (o) => labelKeys(o.spec?.labels),
    labelValue: (o) => labelValueKeys(o.spec?.labels),
  },
} satisfies TableSpec<"network", string>;
export type NetworkIndex = keyof typeof networksTable.indexes;
